/**
 * The glob semantics of policy patterns, written the slow and obvious way to check the
 * compiled matcher against: `*` is one or more characters, `?` exactly one, anything else
 * itself; a character is a code point.
 */
export function referenceGlob(pattern: string, text: string): boolean {
  const p = [...pattern.replace(/\*+/g, '*')];
  const t = [...text];
  const memo = new Map<string, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result = false;
    if (i === p.length) result = j === t.length;
    else if (p[i] === '*') {
      for (let n = j + 1; n <= t.length && !result; n += 1) result = go(i + 1, n);
    } else if (j < t.length && (p[i] === '?' || p[i] === t[j])) result = go(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}
