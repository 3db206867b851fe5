/** `thingcore endpoint`: the data-plane address clients should use (DescribeEndpoint). */
import { Option } from 'commander';
import type { Command } from 'commander';
import { adminCommand, withSession } from './admin.js';
import type { AdminDeps, AdminFlags } from './admin.js';
import { formatJson } from './output.js';

const endpointTypes = ['iot:Data-ATS', 'iot:Data', 'iot:CredentialProvider', 'iot:Jobs'] as const;

interface EndpointFlags extends AdminFlags {
  readonly type: string;
}

export function endpointCommand(deps: AdminDeps): Command {
  return adminCommand('endpoint', 'show the endpoint address devices and data-plane clients use (DescribeEndpoint)')
    .addOption(new Option('--type <type>', 'endpoint type').choices(endpointTypes).default('iot:Data-ATS'))
    .action(async (flags: EndpointFlags) => {
      await withSession(deps, flags, async ({ api }) => {
        const { endpointAddress } = await api.describeEndpoint({ endpointType: flags.type });
        deps.io.stdout(flags.json === true ? formatJson({ endpointAddress }) : `${endpointAddress ?? '-'}\n`);
      });
    });
}
