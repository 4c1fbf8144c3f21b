/**
 * A secret scan of every tracked file (`git ls-files`): no private keys, no access tokens, and
 * no password other than the local stack's documented dev defaults. Real secrets are generated
 * at setup into the stack's data folder (`stack up --secure`) and never committed; the dev
 * defaults below are the ones the README's "Secrets and dev defaults" paragraph names, so a user
 * knows to change them outside a laptop.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../lib/env/paths.ts";

/**
 * Passwords that may appear in tracked files: the local/compose stacks' dev defaults, each
 * documented in the README (checked below).
 */
const DEV_DEFAULTS: Record<string, string> = {
  "postgres-pw": "PostgreSQL password of the compose files (practice 5, extra)",
  practicum: "PostgreSQL user/password of the local stack",
  admin: "Grafana's admin login in the compose files",
};

/** Words that stand for a password in docs and messages (`postgres://user:password@…`). */
const PLACEHOLDER = /^(password|pass|pw|secret|changeme|\*+|x+)$/i;
/** Obvious fakes that tests use to be refused or parsed (wrong passwords, made-up users). */
const TEST_PLACEHOLDER = /^(wrong|not-the-password|guess|s3cret|pw-[a-z]+|p@ss|p%40ss|p)$/;

const PRIVATE_KEY =
  /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY( BLOCK)?-----/;
const TOKENS: [string, RegExp][] = [
  ["AWS access key id", /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/],
  ["GitHub token", /\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}/],
  ["Slack token", /\bxox[abposr]-[A-Za-z0-9-]{10,}/],
  ["npm token", /\bnpm_[A-Za-z0-9]{36}\b/],
  ["Google API key", /\bAIza[0-9A-Za-z_-]{35}\b/],
  ["private key in JSON", /"private_key"\s*:\s*"-----BEGIN/],
  ["JSON web token", /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/],
];
const KEY = String
  .raw`(?:password|passwd|pwd|secret|api[_.-]?key|access[_.-]?key|token)["']?\s*[:=]\s*`;
/** A quoted literal assigned to a password-like key: `password: "x"`, `"database.password": "x"`. */
const QUOTED_ASSIGNMENT = new RegExp(`${KEY}(["'\`])([^"'\`]+)\\1`, "gi");
/** Also unquoted, in config files (YAML, properties, env): `X_PASSWORD: x`, `x.password=x`. */
const BARE_ASSIGNMENT = new RegExp(`${KEY}([^\\s"'\`,;)}\\]]+)`, "gi");
/** The password in a URL's user info: `scheme://user:password@host`. */
const URL_PASSWORD = /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"'`]+:([^\s@/"'`]+)@/gi;

/** Whether a value can be a password: printable, with a letter or digit, no template or reference. */
function isLiteral(value: string): boolean {
  return /[A-Za-z0-9]/.test(value) && /^[A-Za-z0-9@#%!._+~^&*=-]+$/.test(value) &&
    !/^\$|^\{/.test(value);
}

const CODE = /\.(ts|tsx|js|mjs)$/;

async function trackedFiles(): Promise<string[]> {
  const out = await new Deno.Command("git", { args: ["ls-files", "-z"], cwd: PROJECT_ROOT })
    .output();
  assert.ok(out.success, "git ls-files");
  return new TextDecoder().decode(out.stdout).split("\0").filter(Boolean);
}

/** Findings in one file's text: `path:line: what`. */
export function scanText(path: string, text: string): string[] {
  const found: string[] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const at = `${path}:${i + 1}`;
    if (PRIVATE_KEY.test(line)) found.push(`${at}: a private key`);
    for (const [what, re] of TOKENS) if (re.test(line)) found.push(`${at}: ${what}`);
    // In code only quoted values are literals (`password: options.password` is code).
    const values = [
      ...[...line.matchAll(QUOTED_ASSIGNMENT)].map((m) => m[2]),
      ...(CODE.test(path) ? [] : [...line.matchAll(BARE_ASSIGNMENT)].map((m) => m[1])),
      ...[...line.matchAll(URL_PASSWORD)].map((m) => m[1]),
    ];
    for (const value of new Set(values)) {
      if (!isLiteral(value) || value in DEV_DEFAULTS || PLACEHOLDER.test(value)) continue;
      if (/^\d+$/.test(value) || /^(true|false|null|undefined|required|optional)$/i.test(value)) {
        continue;
      }
      if (path.startsWith("tests/") && TEST_PLACEHOLDER.test(value)) continue;
      found.push(`${at}: a password or token literal '${value}'`);
    }
  });
  return found;
}

Deno.test("secret scan: no private key, token or non-default password in any tracked file", async () => {
  const findings: string[] = [];
  let scanned = 0;
  for (const path of await trackedFiles()) {
    if (path === "deno.lock" || path.endsWith("secrets_scan_test.ts")) continue;
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(join(PROJECT_ROOT, path));
    } catch {
      continue; // deleted in the work tree
    }
    if (bytes.includes(0)) continue; // binary
    scanned++;
    findings.push(...scanText(path, new TextDecoder().decode(bytes)));
  }
  assert.ok(scanned > 100, `${scanned} files scanned`);
  assert.deepEqual(findings, [], findings.join("\n"));
});

/** The README's paragraph that names the dev defaults (an empty string when it is gone). */
export function devDefaultsPassage(readme: string): string {
  const start = readme.indexOf("Dev defaults that may appear in tracked files");
  if (start < 0) return "";
  const end = readme.indexOf("\n\n", start);
  return readme.slice(start, end < 0 ? undefined : end);
}

Deno.test("secret scan: the dev defaults it allows are the ones the README documents", async () => {
  const readme = await Deno.readTextFile(join(PROJECT_ROOT, "README.md"));
  const passage = devDefaultsPassage(readme);
  assert.ok(passage, "README has the paragraph 'Dev defaults that may appear in tracked files …'");
  // Each value as code (`admin`) in that paragraph: a word that merely occurs elsewhere in the
  // README (admin, practicum) does not count.
  for (const [value, what] of Object.entries(DEV_DEFAULTS)) {
    assert.ok(passage.includes(`\`${value}\``), `README's dev defaults name '${value}' (${what})`);
  }
  assert.equal(devDefaultsPassage("no such paragraph"), "");
  assert.ok(
    !devDefaultsPassage("Dev defaults that may appear in tracked files: `x`.").includes("`admin`"),
  );
});

Deno.test("secret scan: it finds what it is for", () => {
  const key = ["-----BEGIN", "PRIVATE KEY-----"].join(" ");
  const token = "gh" + "p_" + "a".repeat(36);
  const found = scanText(
    "compose/x.yaml",
    [
      key,
      `  T: "${token}"`,
      `  "database.password": "hunter2-prod",`,
      "      KAFKA_SASL_PASSWORD: s3cr3t!",
      "  URL: postgres://app:Sup3rSecret@db:5432/shop",
      "  POSTGRES_PASSWORD: postgres-pw", // a documented dev default
      "  # postgres://user:password@host/db", // a placeholder
    ].join("\n"),
  );
  assert.deepEqual(found.map((f) => f.split(": ").slice(1).join(": ")), [
    "a private key",
    "GitHub token",
    "a password or token literal 'hunter2-prod'",
    "a password or token literal 's3cr3t!'",
    "a password or token literal 'Sup3rSecret'",
  ]);
  // In code, an assignment from a variable is no literal; a quoted one is.
  assert.deepEqual(scanText("lib/x.ts", "const c = { password: options.password };"), []);
  assert.equal(scanText("lib/x.ts", `const c = { password: "hunter2-prod" };`).length, 1);
  assert.equal(scanText("tests/x_test.ts", `{ password: "wrong" }`).length, 0, "a test's fake");
});
