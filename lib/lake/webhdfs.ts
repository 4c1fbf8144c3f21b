/**
 * A small WebHDFS client over `fetch` (the protocol is plain REST): create, read, rename,
 * list, delete and make folders on HDFS through the NameNode's HTTP port. Chosen over
 * `npm:webhdfs`, which is unmaintained and built on the deprecated `request` package.
 *
 * Writes follow the protocol's two steps: the NameNode answers `CREATE` with the address of
 * a DataNode (`307`), and the bytes go there.
 *
 * @example
 * ```ts
 * import { WebHdfs } from "./webhdfs.ts";
 * const fs = new WebHdfs({ url: "http://127.0.0.1:9870/webhdfs/v1" });
 * await fs.write("/tmp/hello.txt", new TextEncoder().encode("hello"));
 * console.log(new TextDecoder().decode(await fs.read("/tmp/hello.txt")));
 * ```
 * @module
 */
import { envString } from "../env/mod.ts";
import { localEndpoints, STACK_PORTS } from "../env/mod.ts";

/** Options of a {@linkcode WebHdfs} client. */
export interface WebHdfsOptions {
  /** Base URL, `http://namenode:9870/webhdfs/v1`. @default `$WEBHDFS_URL` or the local stack's */
  url?: string;
  /** HDFS user (simple authentication). @default `$HADOOP_USER_NAME` or "root" */
  user?: string;
  /** Timeout of each request in ms. @default 60000 */
  timeoutMs?: number;
}

/** One entry of a folder listing. */
export interface FileStatus {
  /** Name inside the folder (empty for a file's own status). */
  pathSuffix: string;
  type: "FILE" | "DIRECTORY" | "SYMLINK";
  /** Size in bytes. */
  length: number;
  /** Modification time, ms since the epoch. */
  modificationTime: number;
}

/** An error answered by WebHDFS, with the Java exception it names. */
export class WebHdfsError extends Error {
  override name = "WebHdfsError";
  constructor(message: string, readonly status: number, readonly exception?: string) {
    super(message);
  }
}

/** WebHDFS base URL from `$WEBHDFS_URL`, else the running local stack's. */
export function webhdfsUrlFromEnv(): string {
  const local = localEndpoints().webhdfsUrl as string | undefined;
  return envString("WEBHDFS_URL", local ?? `http://127.0.0.1:${STACK_PORTS.hdfsHttp}/webhdfs/v1`);
}

/** See the module doc. */
export class WebHdfs {
  readonly url: string;
  readonly user: string;
  readonly #timeoutMs: number;

  constructor(options: WebHdfsOptions = {}) {
    const {
      url = webhdfsUrlFromEnv(),
      user = Deno.env.get("HADOOP_USER_NAME") || "root",
      timeoutMs = 60_000,
    } = options;
    if (!/^https?:\/\/[^/]+\/webhdfs\/v1\/?$/.test(url)) {
      throw new RangeError(
        `Cannot use WebHDFS as 'url' must look like http://host:9870/webhdfs/v1: current value is '${url}'`,
      );
    }
    this.url = url.replace(/\/$/, "");
    this.user = user;
    this.#timeoutMs = timeoutMs;
  }

  #href(path: string, op: string, params: Record<string, string> = {}): string {
    if (!path.startsWith("/")) {
      throw new RangeError(`WebHDFS paths must be absolute: current value is '${path}'`);
    }
    const q = new URLSearchParams({ op, "user.name": this.user, ...params });
    const encoded = path.split("/").map(encodeURIComponent).join("/");
    return `${this.url}${encoded}?${q}`;
  }

  async #call(
    method: string,
    href: string,
    init: RequestInit = {},
  ): Promise<Response> {
    const res = await fetch(href, {
      method,
      redirect: "manual",
      signal: AbortSignal.timeout(this.#timeoutMs),
      ...init,
    });
    if (res.status >= 400) throw await this.#error(res, method, href);
    return res;
  }

  async #error(res: Response, method: string, href: string): Promise<WebHdfsError> {
    const text = await res.text();
    let message = text.slice(0, 500);
    let exception: string | undefined;
    try {
      const body = JSON.parse(text) as { RemoteException?: { message: string; exception: string } };
      if (body.RemoteException) {
        message = body.RemoteException.message.split("\n")[0];
        exception = body.RemoteException.exception;
      }
    } catch { /* not JSON */ }
    const op = new URL(href).searchParams.get("op");
    const path = decodeURIComponent(new URL(href).pathname.replace(/^.*\/webhdfs\/v1/, ""));
    return new WebHdfsError(
      `WebHDFS ${method} ${op} ${path} failed (${res.status}${
        exception ? ` ${exception}` : ""
      }): ${message}`,
      res.status,
      exception,
    );
  }

  /** Creates a folder and its parents; true when it exists afterwards. */
  async mkdirs(path: string): Promise<boolean> {
    const res = await this.#call("PUT", this.#href(path, "MKDIRS"));
    return ((await res.json()) as { boolean: boolean }).boolean;
  }

  /** Writes a whole file. Fails when it exists, unless `overwrite`. */
  async write(
    path: string,
    data: Uint8Array,
    { overwrite = false }: { overwrite?: boolean } = {},
  ): Promise<void> {
    const first = await this.#call(
      "PUT",
      this.#href(path, "CREATE", { overwrite: String(overwrite), noredirect: "true" }),
    );
    const { Location } = (await first.json()) as { Location: string };
    const res = await this.#call("PUT", Location, {
      body: data as Uint8Array<ArrayBuffer>,
      headers: { "content-type": "application/octet-stream" },
    });
    await res.body?.cancel();
    if (res.status !== 201) {
      throw new WebHdfsError(`WebHDFS CREATE ${path} answered ${res.status}`, res.status);
    }
  }

  /** Reads a whole file. */
  async read(path: string): Promise<Uint8Array> {
    const first = await this.#call("GET", this.#href(path, "OPEN", { noredirect: "true" }));
    const { Location } = (await first.json()) as { Location: string };
    const res = await this.#call("GET", Location);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Renames a file or folder; false when the source is missing or the target exists. */
  async rename(from: string, to: string): Promise<boolean> {
    const res = await this.#call("PUT", this.#href(from, "RENAME", { destination: to }));
    return ((await res.json()) as { boolean: boolean }).boolean;
  }

  /** Deletes a file or folder; false when it did not exist. */
  async delete(
    path: string,
    { recursive = false }: { recursive?: boolean } = {},
  ): Promise<boolean> {
    const res = await this.#call(
      "DELETE",
      this.#href(path, "DELETE", { recursive: String(recursive) }),
    );
    return ((await res.json()) as { boolean: boolean }).boolean;
  }

  /** Status of a file or folder, or undefined when it does not exist. */
  async stat(path: string): Promise<FileStatus | undefined> {
    try {
      const res = await this.#call("GET", this.#href(path, "GETFILESTATUS"));
      return ((await res.json()) as { FileStatus: FileStatus }).FileStatus;
    } catch (err) {
      if (err instanceof WebHdfsError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Entries of a folder; empty when the folder does not exist. */
  async list(path: string): Promise<FileStatus[]> {
    try {
      const res = await this.#call("GET", this.#href(path, "LISTSTATUS"));
      return ((await res.json()) as { FileStatuses: { FileStatus: FileStatus[] } }).FileStatuses
        .FileStatus;
    } catch (err) {
      if (err instanceof WebHdfsError && err.status === 404) return [];
      throw err;
    }
  }

  /** Every file under a folder, recursively, as absolute paths with their status. */
  async walk(path: string): Promise<(FileStatus & { path: string })[]> {
    const out: (FileStatus & { path: string })[] = [];
    for (const entry of await this.list(path)) {
      const full = `${path.replace(/\/$/, "")}/${entry.pathSuffix}`;
      if (entry.type === "DIRECTORY") out.push(...await this.walk(full));
      else out.push({ ...entry, path: full });
    }
    return out;
  }
}
