/** A JSON log line's top-level keys in the order written, repeats included (JSON.parse keeps only the last). */
export function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let keyNext = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let end = i + 1;
      while (end < line.length && line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
      if (depth === 1 && keyNext) keys.push(JSON.parse(line.slice(i, end + 1)) as string);
      keyNext = false;
      i = end;
    } else if (c === '{' || c === '[') {
      depth++;
      keyNext = depth === 1 && c === '{';
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) keyNext = true;
  }
  return keys;
}

/** The keys a line writes more than once. */
export const repeatedKeys = (line: string): string[] => {
  const keys = topLevelKeys(line);
  return [...new Set(keys.filter((k, i) => keys.indexOf(k) !== i))];
};
