// duoraft health: asks one member whether it can do its role (the gRPC health service's
// Check). Prints one line, SERVING or NOT_SERVING (with --json one object), and exits 0
// only when SERVING: for scripts, container health checks and Kubernetes exec probes.
// Unreachable, or a security mismatch: one line on stderr, exit 1.
import { checkHealth } from '../client/health-check.js';
import { HOST_PORT_FORMAT, parseHostPort } from '../common/host-port.js';
import type { CommandSpec } from './config/command-config.js';
import { integerSetting, textSetting } from './config/setting.js';
import { commonSettings, type SettingValues } from './config/settings.js';
import { EXIT_FAILED } from './output.js';
import { printJson, printLine } from './output.js';
import { clientSecurityOf, securityProblems } from './security-options.js';

const flagOnly = true;

export const healthSettings = {
  ...commonSettings,
  address: textSetting({
    describe: 'the member to ask (its --listen or --advertise address)',
    default: '127.0.0.1:7001',
    accepts: HOST_PORT_FORMAT,
    flagOnly,
    check: (text) => {
      const parsed = parseHostPort(text);
      return 'problem' in parsed ? parsed.problem : true;
    },
  }),
  service: textSetting({
    describe: 'the service to ask about (default: the member as a whole)',
    accepts: '"duoraft.client.Kv"',
    flagOnly,
    check: (text) => text === 'duoraft.client.Kv' || 'a member answers for the whole member (no --service) and for duoraft.client.Kv',
  }),
  // A probe wants a quick answer: a shorter default deadline than the other commands'.
  timeout: integerSetting({ describe: 'how long to wait for the answer', min: 1, max: 3_600_000, unit: 'ms', default: 2000 }),
} as const;

export type HealthArgs = SettingValues<typeof healthSettings>;

export const healthSpec: CommandSpec = { schema: healthSettings, rules: (v) => securityProblems(v, 'client') };

/** Prints the member's status; the exit code: 0 when SERVING, 1 otherwise. */
export async function healthCommand(args: HealthArgs): Promise<number> {
  const service = args.service ?? '';
  const status = await checkHealth({ address: args.address, service, cluster: args.cluster, deadlineMs: args.timeout, security: await clientSecurityOf(args) });
  if (args.json) printJson({ address: args.address, service, status });
  else printLine(status);
  return status === 'SERVING' ? 0 : EXIT_FAILED;
}
