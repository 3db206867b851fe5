/**
 * FROM topic filters (spec/iot-sql.md section 1): `+` matches exactly one level, `#` the remaining
 * levels. Two decisions follow the broker: `sensor/#` does not match `sensor` (AWS's broker, spec
 * section 1), and a wildcard in the first level never matches a topic starting with `$`
 * (section 13.9), so rules on `$aws/...` must name it.
 *
 * Compiled once per rule into a predicate; a filter without wildcards is one string comparison.
 */
export type TopicMatcher = (topic: string) => boolean;

export function compileTopicFilter(filter: string): TopicMatcher {
  if (!filter.includes('+') && !filter.includes('#')) return (topic) => topic === filter;
  const levels = filter.split('/');
  const last = levels.length - 1;
  const endsWithHash = levels[last] === '#';
  const fixed = endsWithHash ? levels.slice(0, last) : levels;
  const firstIsWildcard = levels[0] === '+' || levels[0] === '#';
  return (topic) => {
    if (firstIsWildcard && topic.startsWith('$')) return false;
    let pos = 0;
    for (let i = 0; i < fixed.length; i++) {
      if (pos > topic.length) return false;
      let slash = topic.indexOf('/', pos);
      if (slash === -1) slash = topic.length;
      const level = fixed[i] as string;
      if (level !== '+' && (slash - pos !== level.length || !topic.startsWith(level, pos))) return false;
      pos = slash + 1;
    }
    // pos is just past the separator after the last fixed level (or topic.length + 1 at the end)
    if (endsWithHash) return pos <= topic.length; // at least one more level, possibly empty
    return pos === topic.length + 1;
  };
}
