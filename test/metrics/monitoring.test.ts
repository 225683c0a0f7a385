/**
 * startMonitoring (src/metrics/monitoring.ts): what exists for which settings. Nothing at all
 * without a status server or a webhook; alerts without a dashboard when only webhooks are set.
 */
import { describe, expect, it } from 'vitest';
import { startMonitoring } from '../../src/metrics/monitoring.js';
import { runnerConfig } from '../helpers/runner-config.js';

describe('startMonitoring', () => {
  it('is null when there is no status server and no webhook: nothing samples, nothing to close', () => {
    const config = runnerConfig();
    expect(startMonitoring({ config, metrics: null, currentConfig: () => config, isReady: () => true, publish: () => undefined })).toBeNull();
  });

  it('with webhooks only: reports their delivery status, and serves no dashboard', async () => {
    const base = runnerConfig();
    const config = runnerConfig({ alerts: { ...base.alerts, webhook: ['http://127.0.0.1:9/hook'] } });
    const monitoring = startMonitoring({ config, metrics: null, currentConfig: () => config, isReady: () => true, publish: () => undefined });
    expect(monitoring).not.toBeNull();
    const snapshot = (): never => {
      throw new Error('no dashboard, so no snapshot is taken');
    };
    expect(monitoring?.routes(snapshot)).toBeNull();
    // The URL's path may hold a secret (a Slack hook): status shows it redacted.
    expect(monitoring?.webhooks?.()).toEqual([expect.objectContaining({ url: 'http://127.0.0.1:9/[redacted]', delivered: 0, failing: false })]);
    monitoring?.handle({ type: 'status-server', url: 'http://127.0.0.1:9100' });
    await monitoring?.close();
  });
});
