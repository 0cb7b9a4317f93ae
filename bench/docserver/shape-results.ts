// Each corpus shape's part of a docserver section, kept across runs. At 1M documents one shape
// takes over an hour (load, exact search for the ground truth, the HNSW build), so the shapes are
// measured in separate runs; the section keeps every shape's latest measurement, each saying the
// run that produced it, and the worst-of-shapes tables are computed over all of them.
//
// A shape's block in the section starts with a machine-readable comment carrying what the
// tables need (its verdicts per class) and its run, followed by its human subsection.

export interface ClassVerdict {
  readonly p95: number;
  readonly recall?: number;
  readonly ok: boolean;
}

export interface ShapeResult {
  readonly name: string;
  /** Documents in the shape's database: blocks of another size are never merged. */
  readonly total: number;
  /** ISO time the run started. */
  readonly run: string;
  /** The command line that measured it, as shown in the section. */
  readonly command: string;
  /** PostgreSQL, pgvector and server settings, load average at the shape's end. */
  readonly facts: string;
  /** Per class kind, in the order the tables list them. */
  readonly verdicts: readonly (readonly [string, ClassVerdict])[];
  /** The shape's subsection (markdown). */
  readonly body: string;
}

const BLOCK_START = /^<!-- shape (\S+) (\{.*\}) -->$/gm;

/** The shape's block as written into the section. */
export function shapeBlock(result: ShapeResult): string {
  const meta = {
    total: result.total,
    run: result.run,
    command: result.command,
    facts: result.facts,
    verdicts: result.verdicts,
  };
  // `--` cannot appear inside an HTML comment; the JSON never has it unescaped after this.
  const json = JSON.stringify(meta).replaceAll('--', '-\\u002d');
  return `<!-- shape ${result.name} ${json} -->\n\n${result.body.trim()}\n`;
}

function isVerdicts(x: unknown): x is [string, ClassVerdict][] {
  return (
    Array.isArray(x) &&
    x.every(
      (e) =>
        Array.isArray(e) &&
        e.length === 2 &&
        typeof e[0] === 'string' &&
        typeof e[1] === 'object' &&
        e[1] !== null &&
        typeof (e[1] as { p95?: unknown }).p95 === 'number' &&
        typeof (e[1] as { ok?: unknown }).ok === 'boolean',
    )
  );
}

/**
 * The shape blocks of a section written by `shapeBlock`, in order. A block runs to the next
 * block or the end of the section; blocks whose comment does not parse are dropped (the next
 * run of that shape writes it again).
 */
export function parseShapeBlocks(section: string): ShapeResult[] {
  const starts = [...section.matchAll(BLOCK_START)];
  const results: ShapeResult[] = [];
  starts.forEach((m, i) => {
    const name = m[1];
    const json = m[2];
    if (name === undefined || json === undefined) return;
    const bodyFrom = m.index + m[0].length;
    const bodyTo = starts[i + 1]?.index ?? section.length;
    let meta: unknown;
    try {
      meta = JSON.parse(json);
    } catch {
      return;
    }
    if (typeof meta !== 'object' || meta === null) return;
    const o = meta as Record<string, unknown>;
    if (
      typeof o['total'] !== 'number' ||
      typeof o['run'] !== 'string' ||
      typeof o['command'] !== 'string' ||
      typeof o['facts'] !== 'string' ||
      !isVerdicts(o['verdicts'])
    )
      return;
    results.push({
      name,
      total: o['total'],
      run: o['run'],
      command: o['command'],
      facts: o['facts'],
      verdicts: o['verdicts'],
      body: section.slice(bodyFrom, bodyTo).trim(),
    });
  });
  return results;
}

/**
 * This run's shapes, plus the earlier runs' shapes of the same size that this run did not
 * measure, in `order` (the shapes' canonical order; unknown names last).
 */
export function mergeShapeResults(
  earlier: readonly ShapeResult[],
  current: readonly ShapeResult[],
  order: readonly string[],
): ShapeResult[] {
  const size = current[0]?.total;
  const byName = new Map<string, ShapeResult>();
  for (const r of earlier) if (r.total === size) byName.set(r.name, r);
  for (const r of current) byName.set(r.name, r);
  const rank = (name: string): number => {
    const i = order.indexOf(name);
    return i < 0 ? order.length : i;
  };
  return [...byName.values()].sort((a, b) => rank(a.name) - rank(b.name));
}

export interface WorstOverShapes {
  /** Class kinds in table order, each with one cell per shape. */
  readonly rows: string[][];
  readonly classCount: number;
  /** Classes meeting their target on every shape that measured them. */
  readonly metEverywhere: number;
  readonly recallKinds: number;
  readonly recallMet: number;
  /** The worst p95 of the class `emptyKind` (NaN when no shape measured it). */
  readonly emptyWorst: number;
  /** Per shape: "name met/measured". */
  readonly perShape: string[];
}

/** The worst-of-shapes figures for the section's target tables. */
export function worstOverShapes(
  results: readonly ShapeResult[],
  emptyKind: string,
  recallTarget: number,
  fmt: (ms: number) => string,
): WorstOverShapes {
  const maps = results.map((r) => new Map(r.verdicts));
  const kinds = [...new Set(results.flatMap((r) => r.verdicts.map(([k]) => k)))];
  const rows = kinds.map((kind) => [
    kind,
    ...maps.map((m) => {
      const v = m.get(kind);
      if (!v) return '–';
      const recall = v.recall === undefined ? '' : ` (${v.recall.toFixed(3)})`;
      return `${fmt(v.p95)}${recall}${v.ok ? '' : ' ✗'}`;
    }),
  ]);
  const recallKindList = kinds.filter((k) => maps.some((m) => m.get(k)?.recall !== undefined));
  return {
    rows,
    classCount: kinds.length,
    metEverywhere: kinds.filter((k) => maps.every((m) => m.get(k)?.ok !== false)).length,
    recallKinds: recallKindList.length,
    recallMet: recallKindList.filter((k) =>
      maps.every((m) => (m.get(k)?.recall ?? 1) >= recallTarget),
    ).length,
    emptyWorst: Math.max(...maps.map((m) => m.get(emptyKind)?.p95 ?? Number.NaN)),
    perShape: results.map(
      (r) =>
        `${r.name} ${String(r.verdicts.filter(([, v]) => v.ok).length)}/${String(r.verdicts.length)}`,
    ),
  };
}
