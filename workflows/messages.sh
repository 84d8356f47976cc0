# shellcheck shell=bash
# shellcheck disable=SC2154  # workflow: set by the script that sources this
# Messages of the workflow scripts, in their words: `$workflow: …` on stderr. Sourced by
# lib.sh and by cache.sh (which needs none of lib.sh's stage machinery).

say() { echo "$workflow: $*" >&2; }
usage_error() { say "error: $*"; exit 64; }

# shown TEXT: TEXT on one line (a newline or tab as \n, \t), for messages and .about.
shown() {
    local text=${1//$'\n'/\\n}
    printf '%s' "${text//$'\t'/\\t}"
}

# unknown_option OPTION: exit 64 with one line naming OPTION, the closest option the
# script's usage text lists (by edit distance, when within a third of its length), and
# where the rest are.
unknown_option() {
    local closest
    closest=$(usage | grep -o -- '--[a-z][a-z0-9-]*' | sort -u | awk -v word="$1" '
        function distance(a, b,    i, j, la, lb, d, cost, x) {
            la = length(a); lb = length(b)
            for (i = 0; i <= la; i++) d[i, 0] = i
            for (j = 0; j <= lb; j++) d[0, j] = j
            for (i = 1; i <= la; i++) for (j = 1; j <= lb; j++) {
                cost = substr(a, i, 1) == substr(b, j, 1) ? 0 : 1
                x = d[i - 1, j] + 1
                if (d[i, j - 1] + 1 < x) x = d[i, j - 1] + 1
                if (d[i - 1, j - 1] + cost < x) x = d[i - 1, j - 1] + cost
                d[i, j] = x
            }
            return d[la, lb]
        }
        { score = distance(word, $0); if (best == "" || score < bestScore) { best = $0; bestScore = score } }
        END { if (best != "" && bestScore <= length(word) / 3) print best }')
    usage_error "unknown option: $(shown "$1")${closest:+ (did you mean $closest?)}; '$workflow --help' lists the options"
}

