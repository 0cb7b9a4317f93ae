import { spawnSync } from 'node:child_process';
import { cachedTool } from '../../tools/cached-tool.js';

/** The Lua 5.1 interpreter hack/lua.sh fetches (cached). */
export function luaBin(): string {
  return cachedTool('DBM_LUA', 'hack/lua.sh', 'lua5.1');
}

/** A JSON value as a Lua table constructor, the way Argo CD hands objects to health scripts. */
export function toLua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string')
    return JSON.stringify(value).replace(
      /\\u([0-9a-f]{4})/gi,
      (_, h: string) => `\\${String(parseInt(h, 16))}`,
    );
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(', ')}}`;
  if (typeof value === 'object') {
    const fields = Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `[${JSON.stringify(k)}] = ${toLua(v)}`);
    return `{${fields.join(', ')}}`;
  }
  throw new Error(`cannot express ${typeof value} in Lua`);
}

/** Runs an Argo CD health script on `obj` with a real Lua 5.1; returns its status and message. */
export function runHealthScript(script: string, obj: unknown): { status: string; message: string } {
  const program = [
    `obj = ${toLua(obj)}`,
    `local check = assert(loadstring([==[${script}]==]))`,
    'local hs = check()',
    'io.write(hs.status, "\\n", hs.message or "")',
  ].join('\n');
  const res = spawnSync(luaBin(), ['-'], { input: program, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`lua failed: ${res.stderr}`);
  const [status = '', ...message] = res.stdout.split('\n');
  return { status, message: message.join('\n') };
}
