/** The value of one series in Prometheus text format (name with its labels, as exposed), or undefined when absent. */
export function seriesValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}
