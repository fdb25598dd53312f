/** One way to write a p-value, as the server's anomaly messages do: "p < 1e-10" below 1e-10. */
export function formatPValue(p: number): string {
  if (p < 1e-10) return 'p < 1e-10';
  if (p < 1e-4) return `p = ${p.toExponential(1)}`;
  return `p = ${Number(p.toFixed(4))}`;
}
