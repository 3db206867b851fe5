/**
 * The device shadow data plane (spec/http-api.md 4, spec/shadow.md 9) plus one Thingcore extension,
 * all SigV4-signed like every other route:
 *
 *   GetThingShadow            GET    /things/{thingName}/shadow[?name=]   → 200 raw shadow document
 *   UpdateThingShadow         POST   /things/{thingName}/shadow[?name=]   → 200 raw accepted document
 *   DeleteThingShadow         DELETE /things/{thingName}/shadow[?name=]   → 200 {"version","timestamp"}
 *   ListNamedShadowsForThing  GET    /api/things/shadow/ListNamedShadowsForThing/{thingName}?nextToken=&pageSize=
 *                                                                         → 200 {"results","nextToken"?,"timestamp"}
 *   (Thingcore) shadow history GET   /things/{thingName}/shadow/history[?name=&limit=&before=]
 *                                                                         → 200 {"versions":[…],"nextBefore"?}
 *
 * History: the versions the shadow service kept (default the last 10, at most 30 days old), newest
 * first, each `{version, timestamp (epoch seconds it was accepted), state: {desired?, reported?},
 * metadata: {desired?, reported?}}`; `limit` 1–100 (default 10); `before` returns only versions
 * strictly below it; `nextBefore` (absent on the last page) is the `before` of the next page.
 *
 * Bodies are the shadow service's bytes, untouched (raw JSON, as AWS answers). The update body is
 * read raw, whatever its content type (botocore sends none). A refusal becomes the AWS exception
 * the shadow room maps it to (`toServiceError`: x-amzn-ErrorType + {"message"}); nothing is
 * published for it (spec/shadow.md 2.1). A successful update or delete publishes the same MQTT
 * messages an MQTT request would (update/accepted, update/delta, update/documents; delete/accepted)
 * through `publish`, before the HTTP answer goes out. A get publishes nothing: get/accepted answers
 * the requester, and the requester here is the HTTP caller.
 */
// Not '../index.js': api/index.ts re-exports this module (see things.ts).
import { defineRoutes, rawResponse } from '../routing.js';
import type { RouteModule, RouteRequest } from '../routing.js';
import { toServiceError } from '../../shadow/index.js';
import type { ShadowReply, ShadowResult, ShadowService } from '../../shadow/index.js';

/** Publishes a successful operation's replies through the broker (core's shadow wiring); never rejects. */
export type ShadowReplyPublisher = (replies: readonly ShadowReply[]) => Promise<void>;

const noPayload = Buffer.alloc(0);

export function shadowRoutes(shadows: ShadowService, publish: ShadowReplyPublisher): RouteModule {
  return defineRoutes('shadows', (r) => {
    r.get('/things/:thingName/shadow', async (req) => answer(await shadows.get(req.params.thingName, shadowNameOf(req), noPayload)), {
      operation: 'GetThingShadow',
    });

    r.post(
      '/things/:thingName/shadow',
      async (req) => {
        const result = await shadows.update(req.params.thingName, shadowNameOf(req), req.rawBody);
        if (result.ok) await publish(result.replies);
        return answer(result);
      },
      { operation: 'UpdateThingShadow', body: 'raw' },
    );

    r.delete(
      '/things/:thingName/shadow',
      async (req) => {
        const result = await shadows.delete(req.params.thingName, shadowNameOf(req), noPayload);
        if (result.ok) await publish(result.replies);
        return answer(result);
      },
      { operation: 'DeleteThingShadow', body: 'raw' },
    );

    r.get(
      '/api/things/shadow/ListNamedShadowsForThing/:thingName',
      async (req) => {
        const nextToken = req.query.string('nextToken');
        const pageSize = req.query.int('pageSize');
        const out = await shadows.listNamedShadows(req.params.thingName, {
          ...(nextToken === undefined ? {} : { nextToken }),
          ...(pageSize === undefined ? {} : { pageSize }),
        });
        return { results: out.results, nextToken: out.nextToken, timestamp: out.timestamp };
      },
      { operation: 'ListNamedShadowsForThing' },
    );

    r.get(
      '/things/:thingName/shadow/history',
      async (req) => {
        const limit = req.query.int('limit');
        const before = req.query.int('before');
        const page = await shadows.history(req.params.thingName, shadowNameOf(req), {
          ...(limit === undefined ? {} : { limit }),
          ...(before === undefined ? {} : { before }),
        });
        // Serialized here: the states are the devices' own JSON, passed through as they are.
        return rawResponse(JSON.stringify(page));
      },
      { operation: 'GetThingShadowHistory' },
    );
  });
}

/** `?name=` names a named shadow; absent, the classic one. An empty name is the service's to refuse. */
function shadowNameOf(req: RouteRequest<unknown>): string | undefined {
  return req.query.string('name');
}

function answer(result: ShadowResult): ReturnType<typeof rawResponse> {
  if (!result.ok) throw toServiceError(result.error);
  return rawResponse(result.body);
}
