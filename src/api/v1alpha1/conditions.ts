import type { Condition } from './common.js';

export type ConditionType = 'Ready' | 'Progressing' | 'Degraded';

/**
 * Sets one condition the way Kubernetes API conventions ask: lastTransitionTime changes only
 * when status changes; reason and message always reflect the latest observation.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index === -1 ? undefined : list[index];
  const condition: Condition = {
    ...next,
    lastTransitionTime:
      previous && previous.status === next.status ? previous.lastTransitionTime : now.toISOString(),
  };
  if (index === -1) list.push(condition);
  else list[index] = condition;
  return list;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Sets several condition types at once from booleans, sharing reason, message and generation. */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  states: Partial<Record<ConditionType, boolean>>,
  detail: {
    readonly reason: string;
    readonly message: string;
    readonly observedGeneration: number;
  },
  now: Date,
): Condition[] {
  let out = [...(conditions ?? [])];
  for (const [type, on] of Object.entries(states) as [ConditionType, boolean][]) {
    out = setCondition(out, { type, status: on ? 'True' : 'False', ...detail }, now);
  }
  return out;
}
