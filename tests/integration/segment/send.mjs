// Sends a short customer story through the real @segment/analytics-node
// client to a Waymark node: node send.mjs <host-url> <writeKey>
import { Analytics } from '@segment/analytics-node';

const [host, writeKey] = process.argv.slice(2);
const analytics = new Analytics({ writeKey, host, flushAt: 1, maxRetries: 2 });
let failed = false;
analytics.on('error', (err) => {
  failed = true;
  console.error('segment client error:', err?.reason ?? err?.message ?? err);
});

analytics.page({ anonymousId: 'seg-anon-1', name: 'Pricing', properties: { path: '/pricing' } });
analytics.track({ anonymousId: 'seg-anon-1', event: 'Viewed Plans', properties: { plans: 3 } });
analytics.alias({ previousId: 'seg-anon-1', userId: 'seg-user-1' });
analytics.identify({ userId: 'seg-user-1', traits: { email: 'seg@example.com', first_name: 'Sam' } });
analytics.track({ userId: 'seg-user-1', event: 'Signed Up', properties: { plan: 'trial' } });

await analytics.closeAndFlush({ timeout: 10000 });
process.exit(failed ? 1 : 0);
