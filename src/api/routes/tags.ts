/**
 * tagging's routes (spec/http-api.md 3.7: TagResource, UntagResource, ListTagsForResource): the
 * wire in and out, nothing else. The tagging service checks the ARN, the tags and the keys, and
 * answers every error; handlers read the members and query parameters the model names and pass
 * them on. Tags travel with capitalised `Key` / `Value` both ways.
 *
 *   POST /tags   {"resourceArn", "tags": [{"Key", "Value"}]}   → empty 200
 *   POST /untag  {"resourceArn", "tagKeys": ["k", ...]}         → empty 200
 *   GET  /tags?resourceArn=...&nextToken=...                    → {"tags": [{"Key", "Value"}], "nextToken"?}
 */
// Not '../index.js': api/index.ts re-exports this module, and importing the files directly (as
// things.ts does) keeps the module graph free of a cycle.
import { defineRoutes } from '../routing.js';
import type { RouteModule } from '../routing.js';
import { jsonBody } from '../body.js';
import type { Tag, TaggingService } from '../../tagging/index.js';

export function tagRoutes(tagging: TaggingService): RouteModule {
  return defineRoutes('tags', (r) => {
    r.post(
      '/tags',
      async (req) => {
        const body = jsonBody(req);
        // The elements (and a missing list) are the service's to check; here they are only passed on.
        await tagging.tagResource({ resourceArn: body.requiredString('resourceArn'), tags: body.array('tags') as readonly Tag[] });
        return undefined;
      },
      { operation: 'TagResource' },
    );

    r.post(
      '/untag',
      async (req) => {
        const body = jsonBody(req);
        await tagging.untagResource({ resourceArn: body.requiredString('resourceArn'), tagKeys: body.array('tagKeys') as readonly string[] });
        return undefined;
      },
      { operation: 'UntagResource' },
    );

    r.get(
      '/tags',
      async (req) => {
        const nextToken = req.query.string('nextToken');
        const out = await tagging.listTagsForResource({
          resourceArn: req.query.requiredString('resourceArn'),
          ...(nextToken === undefined ? {} : { nextToken }),
        });
        return { tags: out.tags, nextToken: out.nextToken };
      },
      { operation: 'ListTagsForResource' },
    );
  });
}
