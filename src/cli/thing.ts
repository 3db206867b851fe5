/** `thingcore thing list|describe|delete`: the registry's things, through ListThings, DescribeThing, DeleteThing. */
import { Command } from 'commander';
import type { ThingAttribute } from '@aws-sdk/client-iot';
import { adminCommand, withSession } from './admin.js';
import type { AdminDeps, AdminFlags } from './admin.js';
import { formatAttributes, formatFields, formatJson, formatTable } from './output.js';

export function thingCommand(deps: AdminDeps): Command {
  const { io } = deps;
  return new Command('thing')
    .description('list, describe and delete things')
    .addCommand(
      adminCommand('list', 'list every thing').action(async (flags: AdminFlags) => {
        await withSession(deps, flags, async ({ api }) => {
          const things = await api.listThings();
          io.stdout(flags.json === true ? formatJson({ things }) : thingTable(things));
        });
      }),
    )
    .addCommand(
      adminCommand('describe', 'show a thing and the certificates attached to it')
        .argument('<name>', 'thing name')
        .action(async (thingName: string, flags: AdminFlags) => {
          await withSession(deps, flags, async ({ api }) => {
            const thing = await api.describeThing({ thingName });
            const principals = await api.listThingPrincipals(thingName);
            if (flags.json === true) {
              io.stdout(formatJson({ ...thing, principals }));
              return;
            }
            io.stdout(
              formatFields([
                ['Name', thing.thingName],
                ['ID', thing.thingId],
                ['ARN', thing.thingArn],
                ['Type', thing.thingTypeName ?? '-'],
                ['Version', thing.version?.toString()],
                ['Attributes', formatAttributes(thing.attributes)],
                ['Principals', principals.length === 0 ? '-' : principals.join('\n')],
              ]),
            );
          });
        }),
    )
    .addCommand(
      adminCommand('delete', 'delete a thing (detach its certificates first, or delete them with `cert delete --force`)')
        .argument('<name>', 'thing name')
        .action(async (thingName: string, flags: AdminFlags) => {
          await withSession(deps, flags, async ({ api }) => {
            // DeleteThing succeeds for a thing that does not exist (as AWS's does); say so instead.
            await api.describeThing({ thingName });
            await api.deleteThing({ thingName });
            io.stdout(flags.json === true ? formatJson({ thingName, deleted: true }) : `deleted thing ${thingName}\n`);
          });
        }),
    );
}

export function thingTable(things: readonly ThingAttribute[]): string {
  if (things.length === 0) return 'no things\n';
  return formatTable(
    ['NAME', 'TYPE', 'VERSION', 'ATTRIBUTES'],
    things.map((t) => [t.thingName ?? '?', t.thingTypeName ?? '-', t.version?.toString() ?? '-', formatAttributes(t.attributes)]),
  );
}
