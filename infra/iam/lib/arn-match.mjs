// ARN matching for check b: a granted ARN (with * and ?) against a resource type's ARN pattern
// (with ${Variable} parts). Both are globs; they match when some ARN fits both. The first five
// colon-separated fields are compared field by field (a wildcard stays within its field), the
// resource part as a whole.

/** A glob as tokens: '*', '?' or { c: character }; a ${Variable} is a '*'. */
function globTokens(text) {
  const tokens = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') {
      const end = text.indexOf('}', i);
      if (end > 0) {
        tokens.push('*');
        i = end;
        continue;
      }
    }
    tokens.push(text[i] === '*' ? '*' : text[i] === '?' ? '?' : { c: text[i] });
  }
  return tokens;
}

/** Whether some string matches both globs (a search over pairs of positions). */
export function globsIntersect(a, b) {
  const x = globTokens(a);
  const y = globTokens(b);
  const seen = new Set();
  const stack = [[0, 0]];
  while (stack.length > 0) {
    const [i, j] = stack.pop();
    const key = i * (y.length + 1) + j;
    if (seen.has(key)) continue;
    seen.add(key);
    if (i === x.length && j === y.length) return true;
    const s = x[i];
    const t = y[j];
    if (s === '*') {
      stack.push([i + 1, j]);
      if (j < y.length) stack.push([i, j + 1]);
    }
    if (t === '*') {
      stack.push([i, j + 1]);
      if (i < x.length) stack.push([i + 1, j]);
    }
    if (s !== undefined && t !== undefined && s !== '*' && t !== '*') {
      if (s === '?' || t === '?' || s.c === t.c) stack.push([i + 1, j + 1]);
    }
  }
  return false;
}

function splitArn(arn) {
  const parts = arn.split(':');
  if (parts.length < 6) return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

export function arnMatchesPattern(granted, pattern) {
  const g = splitArn(granted);
  const p = splitArn(pattern);
  if (!g || !p) return globsIntersect(granted, pattern);
  return g.every((field, i) => globsIntersect(field, p[i]));
}
