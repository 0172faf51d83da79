/** Percentile by nearest rank over a sorted copy. */
export const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
};

export const summary = (values: number[]) => ({
  n: values.length,
  median: percentile(values, 50),
  p99: percentile(values, 99),
  max: Math.max(...values),
});

export const ms = (n: number) => `${n.toFixed(1)} ms`;
