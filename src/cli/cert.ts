/**
 * `thingcore cert list|describe|delete`: device certificates, through ListCertificates,
 * DescribeCertificate, UpdateCertificate and DeleteCertificate. A certificate may be named by a
 * unique prefix of its id, as `git` does for commits.
 */
import { Command } from 'commander';
import type { Certificate } from '@aws-sdk/client-iot';
import { adminCommand, withSession } from './admin.js';
import type { AdminDeps, AdminFlags } from './admin.js';
import type { AdminSession } from './connection.js';
import { CliError, usageError } from './errors.js';
import type { IotAdmin } from './iot-admin.js';
import { formatDate, formatFields, formatJson, formatTable } from './output.js';
import { formatUndoReport, unwind } from './undo.js';
import type { UndoStep } from './undo.js';

interface CertDeleteFlags extends AdminFlags {
  readonly force?: boolean;
}

export function certCommand(deps: AdminDeps): Command {
  const { io } = deps;
  return new Command('cert')
    .description('list, describe and delete device certificates')
    .addCommand(
      adminCommand('list', 'list every certificate').action(async (flags: AdminFlags) => {
        await withSession(deps, flags, async ({ api }) => {
          const certificates = await api.listCertificates();
          io.stdout(flags.json === true ? formatJson({ certificates }) : certificateTable(certificates));
        });
      }),
    )
    .addCommand(
      adminCommand('describe', 'show a certificate and the things it is attached to')
        .argument('<id>', 'certificate id (or a unique prefix of it)')
        .action(async (idText: string, flags: AdminFlags) => {
          await withSession(deps, flags, async ({ api }) => {
            const certificateId = await resolveCertificateId(api, idText);
            const { certificateDescription: cert } = await api.describeCertificate({ certificateId });
            const things = cert?.certificateArn === undefined ? [] : await api.listPrincipalThings(cert.certificateArn);
            if (flags.json === true) {
              io.stdout(formatJson({ certificateDescription: cert, things }));
              return;
            }
            io.stdout(
              formatFields([
                ['ID', cert?.certificateId ?? certificateId],
                ['ARN', cert?.certificateArn],
                ['Status', cert?.status],
                ['CA certificate', cert?.caCertificateId],
                ['Created', formatDate(cert?.creationDate)],
                ['Modified', formatDate(cert?.lastModifiedDate)],
                ['Valid from', formatDate(cert?.validity?.notBefore)],
                ['Valid until', formatDate(cert?.validity?.notAfter)],
                ['Things', things.length === 0 ? '-' : things.join('\n')],
              ]),
            );
          });
        }),
    )
    .addCommand(
      adminCommand('delete', 'delete a certificate (set INACTIVE first if it is ACTIVE)')
        .argument('<id>', 'certificate id (or a unique prefix of it)')
        .option('--force', 'also detach it from its things and policies')
        .action(async (idText: string, flags: CertDeleteFlags) => {
          await withSession(deps, flags, async (session) => {
            const certificateId = await resolveCertificateId(session.api, idText);
            const result = await deleteCertificate(session, certificateId, flags.force === true);
            if (flags.json === true) {
              io.stdout(formatJson({ ...result, deleted: true }));
              return;
            }
            const notes = [
              ...(result.deactivated ? ['set it INACTIVE'] : []),
              ...(result.detachedFrom.length > 0 ? [`detached it from ${result.detachedFrom.join(', ')}`] : []),
            ];
            io.stdout(`deleted certificate ${certificateId}${notes.length > 0 ? ` (${notes.join(', ')} first)` : ''}\n`);
          });
        }),
    );
}

export function certificateTable(certificates: readonly Certificate[]): string {
  if (certificates.length === 0) return 'no certificates\n';
  return formatTable(
    ['ID', 'STATUS', 'CREATED'],
    certificates.map((c) => [c.certificateId ?? '?', c.status ?? '-', formatDate(c.creationDate)]),
  );
}

/** A full certificate id, from the id or a unique prefix of it. */
export async function resolveCertificateId(api: IotAdmin, text: string): Promise<string> {
  const prefix = text.toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(prefix)) {
    throw usageError(`a certificate id is 64 hexadecimal characters, or a unique prefix of them (got ${JSON.stringify(text)})`);
  }
  if (prefix.length === 64) return prefix;
  const matches = (await api.listCertificates())
    .map((c) => c.certificateId)
    .filter((id): id is string => id !== undefined && id.startsWith(prefix));
  const [first, second] = matches;
  if (first === undefined) throw new CliError(`no certificate id starts with ${prefix}`);
  if (second !== undefined) {
    throw new CliError(`${prefix} is the start of ${matches.length} certificate ids (${matches.join(', ')}): give more of it`);
  }
  return first;
}

export interface CertificateDeletion {
  readonly certificateId: string;
  /** It was ACTIVE and was set INACTIVE before the delete. */
  readonly deactivated: boolean;
  /** Things it was detached from (--force). */
  readonly detachedFrom: readonly string[];
}

/**
 * Deletes a certificate the way AWS requires: not ACTIVE, attached to no thing. An ACTIVE one is set
 * INACTIVE first; with `force` it is detached from its things and the delete is forced past its
 * policies. Without `force` a certificate that is still attached is refused before anything changes.
 * If the delete then fails, the certificate is put back as it was (attachments, status).
 */
export async function deleteCertificate(
  session: Pick<AdminSession, 'api' | 'explain' | 'apiUrl'>,
  certificateId: string,
  force: boolean,
): Promise<CertificateDeletion> {
  const { api } = session;
  const { certificateDescription: cert } = await api.describeCertificate({ certificateId });
  const arn = cert?.certificateArn;
  if (arn === undefined) throw new CliError(`the server described certificate ${certificateId} without its ARN`);
  const things = await api.listPrincipalThings(arn);
  if (things.length > 0 && !force) {
    throw new CliError(
      `certificate ${certificateId} is attached to ${things.join(', ')}: detach it first, or use --force to detach it and delete it`,
    );
  }
  const undo: UndoStep[] = [];
  try {
    for (const thingName of things) {
      await api.detachThingPrincipal({ thingName, principal: arn });
      undo.push({
        todo: `attach it to ${thingName} again`,
        undone: `attached it to ${thingName} again`,
        run: () => api.attachThingPrincipal({ thingName, principal: arn }),
        byHand: `aws iot attach-thing-principal --thing-name ${thingName} --principal ${arn} --endpoint-url ${session.apiUrl}`,
      });
    }
    const deactivated = cert?.status === 'ACTIVE';
    if (deactivated) {
      await api.updateCertificate({ certificateId, newStatus: 'INACTIVE' });
      undo.push({
        todo: 'set it ACTIVE again',
        undone: 'set it ACTIVE again',
        run: () => api.updateCertificate({ certificateId, newStatus: 'ACTIVE' }),
        byHand: `aws iot update-certificate --certificate-id ${certificateId} --new-status ACTIVE --endpoint-url ${session.apiUrl}`,
      });
    }
    await api.deleteCertificate({ certificateId, ...(force && { forceDelete: true }) });
    return { certificateId, deactivated, detachedFrom: things };
  } catch (err: unknown) {
    const report = formatUndoReport(await unwind(undo, session.explain));
    const cause = session.explain(err);
    throw new CliError(`could not delete certificate ${certificateId}: ${cause.message}${report === '' ? '' : `\n${report}`}`, cause.exitCode, {
      cause: err,
    });
  }
}
