package io.cowherd.agent.monitoring;

import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric names a PromQL expression (or a Grafana variable query) reads: a small tokenizer, not a
 * parser. Skipped: strings, label matchers ({@code {...}}), ranges and subqueries ({@code [...]}),
 * label lists after {@code by}, {@code without}, {@code on}, {@code ignoring}, {@code group_left},
 * {@code group_right}, numbers and durations, Grafana variables ({@code $x}, {@code ${x}}),
 * keywords and every identifier followed by {@code (}, {@code by} or {@code without} (a function or
 * aggregation). What remains is
 * an identifier that names a series: a metric name. Grammar: the Prometheus querying basics
 * (prometheus.io/docs/prometheus/latest/querying/basics/).
 */
final class PromQlNames {
  private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
      "bool", "and", "or", "unless", "offset", "atan2", "inf", "nan", "start", "end");
  private static final Set<String> LABEL_LISTS = Set.of("by", "without", "on", "ignoring", "group_left",
      "group_right");
  /** Grafana's {@code label_values(selector, label)}: only the selector is PromQL. */
  private static final Pattern LABEL_VALUES = Pattern.compile("^\\s*label_values\\((.*),\\s*[A-Za-z_][A-Za-z0-9_]*\\s*\\)\\s*$",
      Pattern.DOTALL);

  private PromQlNames() {}

  /** Metric names of a Grafana Prometheus variable query ({@code label_values(...)}, or PromQL). */
  static Set<String> ofVariableQuery(String query) {
    Matcher m = LABEL_VALUES.matcher(query);
    if (m.matches()) {
      return of(m.group(1));
    }
    if (query.strip().matches("label_values\\(\\s*[A-Za-z_][A-Za-z0-9_]*\\s*\\)|label_names\\(\\)")) {
      return Set.of();
    }
    return of(query);
  }

  /** Metric names {@code expr} reads, in order of first use. */
  static Set<String> of(String expr) {
    Set<String> names = new LinkedHashSet<>();
    int i = 0;
    int n = expr.length();
    boolean labelListNext = false;
    while (i < n) {
      char c = expr.charAt(i);
      if (c == '"' || c == '\'' || c == '`') {
        i = skipString(expr, i);
      } else if (c == '{') {
        i = skipTo(expr, i, '}');
      } else if (c == '[') {
        i = skipTo(expr, i, ']');
      } else if (c == '$') {
        i++;
        if (i < n && expr.charAt(i) == '{') {
          i = skipTo(expr, i, '}');
        } else {
          while (i < n && isIdentPart(expr.charAt(i))) {
            i++;
          }
        }
      } else if (c == '(' && labelListNext) {
        i = skipTo(expr, i, ')');
        labelListNext = false;
      } else if (Character.isDigit(c) || (c == '.' && i + 1 < n && Character.isDigit(expr.charAt(i + 1)))) {
        while (i < n && (isIdentPart(expr.charAt(i)) || expr.charAt(i) == '.')) {
          i++; // 0.9, 1e3, 0x1f, 5m, 1h30m
        }
      } else if (isIdentStart(c)) {
        int start = i;
        while (i < n && isIdentPart(expr.charAt(i))) {
          i++;
        }
        String word = expr.substring(start, i);
        int next = i;
        while (next < n && Character.isWhitespace(expr.charAt(next))) {
          next++;
        }
        // A function call, or an aggregation with its modifier first: sum by (a) (x).
        boolean call = next < n && expr.charAt(next) == '(' || startsWithWord(expr, next, "by")
            || startsWithWord(expr, next, "without");
        if (LABEL_LISTS.contains(word)) {
          labelListNext = true;
        } else if (!KEYWORDS.contains(word.toLowerCase()) && !call) {
          names.add(word);
        }
      } else {
        i++;
      }
    }
    return names;
  }

  private static boolean startsWithWord(String s, int i, String word) {
    return s.startsWith(word, i) && (i + word.length() == s.length() || !isIdentPart(s.charAt(i + word.length())));
  }

  private static int skipString(String s, int i) {
    char quote = s.charAt(i);
    i++;
    while (i < s.length() && s.charAt(i) != quote) {
      i += s.charAt(i) == '\\' && quote != '`' ? 2 : 1;
    }
    return i + 1;
  }

  private static int skipTo(String s, int i, char close) {
    while (i < s.length() && s.charAt(i) != close) {
      char c = s.charAt(i);
      i = c == '"' || c == '\'' || c == '`' ? skipString(s, i) : i + 1;
    }
    return i + 1;
  }

  private static boolean isIdentStart(char c) {
    return Character.isLetter(c) || c == '_' || c == ':';
  }

  private static boolean isIdentPart(char c) {
    return Character.isLetterOrDigit(c) || c == '_' || c == ':';
  }
}
