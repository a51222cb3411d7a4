// The `inbox` provider: in-app messages kept per customer in LMDB.
//
// It writes nothing itself: each outcome carries the message JSON, and the
// gateway commits it in the same LMDB transaction as the delivery's status
// (Store::commit, DeliveryUpdate::inbox_*), so a message is stored exactly
// once even across crashes. Read with Store::inbox_list(customer).
#pragma once

#include "channel/provider.hpp"

namespace waymark {

class InboxProvider : public Provider {
public:
  void start(std::vector<DeliveryJob> jobs, const DeliveryDone& done) override;
};

/// The stored in-app message for a §7 record: {"id","journey","step",
/// "template","content","at","read":false}.
boost::json::object inbox_message(const boost::json::object& record);

}  // namespace waymark
