/**
 * The schema registry's pages (read only): `GET /c/<cluster>/schemas` (every subject with its
 * versions and compatibility level, and the global level) and `GET …/schemas/<subject>` (each
 * version's id, type and schema as pretty JSON, newest first; the subject's compatibility, its
 * own or the global one). A cluster without a registry is a 404 naming `registry`; a registry
 * that does not answer, a 503.
 *
 * @example
 * ```ts
 * import { REGISTRY_ROUTES } from "./registry.ts";
 * const list = REGISTRY_ROUTES.find((r) => r.pattern.test("schemas"));
 * ```
 * @module
 */
import { RegistryError, RegistryReader } from "../../registry/mod.ts";
import type { ClusterCall, ConsoleContext, Route } from "../context.ts";
import { errorBox, esc, layout, url } from "../pages.ts";
import { subjectDetail, type SubjectRow, subjectsTable } from "../pages_operate.ts";
import { html } from "../respond.ts";

/** At most this many subjects are listed (each costs two requests). */
const MAX_SUBJECTS = 200;

/** Renders `render`'s body in a registry page, or the registry's failure as the page's box. */
async function registryPage(
  ctx: ConsoleContext,
  call: ClusterCall,
  title: string,
  render: (reader: RegistryReader) => Promise<string>,
): Promise<Response> {
  const c = call.client.cluster;
  const frame = ctx.frame(title, call.session, c.name);
  if (!c.registry) {
    const why = `cluster ${c.name} has no schema registry: start the stack's with ` +
      "`deno task stack up --registry` or set KAFKA_SCHEMA_REGISTRY_URL";
    return html(layout(frame, errorBox(why, "registry")), 404);
  }
  const head = `<hgroup><h2>${esc(title)}</h2><p>schema registry ${
    esc(c.registry.url)
  } · beside cluster <a href="${url.cluster(c.name)}">${esc(c.name)}</a></p></hgroup>`;
  const reader = new RegistryReader(c.registry, call.client.timeoutMs);
  try {
    return html(layout(frame, head + await render(reader)));
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    const status = err.status === 0 ? 503 : err.status === 404 ? 404 : 502;
    const field = err.status === 404 ? "subject" : "registry";
    return html(layout(frame, head + errorBox(err.message, field)), status);
  } finally {
    reader.close();
  }
}

async function subjectRows(reader: RegistryReader, subjects: string[]): Promise<SubjectRow[]> {
  const rows: SubjectRow[] = [];
  for (const subject of subjects.slice(0, MAX_SUBJECTS)) {
    const [versions, compatibility] = await Promise.all([
      reader.versions(subject),
      reader.compatibility(subject),
    ]);
    rows.push({ subject, versions, compatibility });
  }
  return rows;
}

/** The registry's subjects and one subject's versions. */
export const REGISTRY_ROUTES: Route<ClusterCall>[] = [
  {
    method: "GET",
    pattern: /^schemas$/,
    handle: (ctx, call) =>
      registryPage(ctx, call, "Schema registry", async (reader) => {
        const [subjects, global] = await Promise.all([reader.subjects(), reader.compatibility()]);
        return subjectsTable(
          call.client.cluster.name,
          await subjectRows(reader, subjects),
          global.level,
        );
      }),
  },
  {
    method: "GET",
    pattern: /^schemas\/([^/]+)$/,
    handle: (ctx, call, [subject]) =>
      registryPage(ctx, call, `Subject ${subject}`, async (reader) => {
        const numbers = await reader.versions(subject);
        const versions = await Promise.all(numbers.map((v) => reader.version(subject, v)));
        return subjectDetail(versions, await reader.compatibility(subject));
      }),
  },
];
