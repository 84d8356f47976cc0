#!/usr/bin/env bash
# The workflow's stage cache as a user sees it: what is in it, and collecting old entries.
set -euo pipefail
workflow=cache.sh

usage() {
    cat <<'USAGE'
Usage: workflows/cache.sh list [--cache-dir DIR]
       workflows/cache.sh gc [--keep-days N] [--dry-run] [--cache-dir DIR]

list  one line per entry: stage, key, last used, size, and what made it (the arguments
      and the inputs' digests and names, from the entry's .about)
gc    removes entries not used for N days [30] (0 removes every entry), and leftovers
      of killed runs (.tmp-PID-* whose process has gone, or over an hour old);
      --dry-run only says what it would remove

Options:
  --cache-dir DIR   [.fu-cache]
  -h, --help        this text
USAGE
}

# shellcheck source=workflows/messages.sh
source "$(dirname "${BASH_SOURCE[0]}")/messages.sh"
die() { usage_error "$@"; }

(($#)) || { usage >&2; exit 64; }
case $1 in -h | --help) usage; exit 0 ;; esac
command=$1
shift
cache_dir=.fu-cache
keep_days=30
dry_run=0
while (($#)); do
    case $1 in
        --cache-dir) cache_dir=$2; shift 2 ;;
        --keep-days) keep_days=$2; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
    esac
done
[[ $keep_days =~ ^[0-9]+$ ]] || die "--keep-days needs a whole number of days, not '$keep_days'"

# Entries are CACHE/STAGE/KEY folders; .tmp-* and .old-* are runs' leftovers. Each is
# listed with a NUL after it, as a folder's name may hold a newline.
entries() { find "$cache_dir" -mindepth 2 -maxdepth 2 -type d ! -name '.*' -print0 2>/dev/null | sort -z; }

# Leftovers of runs that have gone: .tmp-PID-* and .old-PID-* whose process no longer
# runs, and, as before, any older than 60 minutes (named before they held a PID, or
# whose PID a new process has taken).
leftovers() {
    local folder pid
    while IFS= read -r -d '' folder; do
        pid=$(basename "$folder" | sed -n 's/^\.\(tmp\|old\)-\([0-9]\+\)-.*/\2/p')
        # A run renames its temporary into its entry when the stage ends: a folder gone
        # by now (checked after its process) is no leftover.
        if [ -n "$(find "$folder" -maxdepth 0 -mmin +60 2>/dev/null)" ] || { [ -n "$pid" ] && ! running "$pid" && [ -d "$folder" ]; }; then
            printf '%s\0' "$folder"
        fi
    done < <(find "$cache_dir" -mindepth 2 -maxdepth 2 -type d \( -name '.tmp-*' -o -name '.old-*' \) -print0 2>/dev/null)
}

# running PID: the process exists (kill -0 fails for another user's process: /proc sees it).
running() { kill -0 "$1" 2>/dev/null || [ -d "/proc/$1" ]; }

case $command in
    list)
        printf '%-18s %-12s %-16s %10s  %s\n' stage key last-used bytes made-by
        while IFS= read -r -d '' entry; do
            about=$entry/.about
            made="(no .about: made before fu recorded it)"
            if [ -f "$about" ]; then
                made=$(sed -n 's/^args=//p' "$about")
                inputs=$(sed -n 's/^input=\([0-9a-f]\{8\}\)[0-9a-f]* \(.*\)/\2@\1/p' "$about" | paste -sd' ' -)
                [ -z "$inputs" ] || made="$made  <- $inputs"
                # Short and stable: another entry's file as STAGE/FILE, an output's draft
                # (its temporary name) as FILE (draft), a long digest cut to 12 hex digits.
                made=$(printf '%s' "$made" | sed -E -e 's#[^ ]*/([a-z-]+)/[0-9a-f]{64}/([^@ ]+)#\1/\2#g' \
                    -e 's#[^ ]*/\.([^/@ ]+)\.[A-Za-z0-9]{6}@#\1 (draft)@#g' -e 's#([0-9a-f]{12})[0-9a-f]{52}#\1…#g')
            fi
            printf '%-18s %-12s %-16s %10s  %s\n' "$(basename "$(dirname "$entry")")" "$(basename "$entry" | cut -c1-12)" \
                "$(date -u -r "$entry" +%Y-%m-%dT%H:%MZ)" "$(du -sb "$entry" | cut -f1)" "$made"
        done < <(entries)
        ;;
    gc)
        removed=0
        freed=0
        while IFS= read -r -d '' entry; do
            bytes=$(du -sb "$entry" | cut -f1)
            if ((dry_run)); then
                echo "$workflow: would remove $entry ($bytes bytes)"
            else
                rm -rf "$entry"
            fi
            removed=$((removed + 1))
            freed=$((freed + bytes))
        done < <(
            if ((keep_days == 0)); then entries; else entries | while IFS= read -r -d '' e; do
                [ -z "$(find "$e" -maxdepth 0 -mtime +"$((keep_days - 1))")" ] || printf '%s\0' "$e"
            done; fi
            leftovers
        )
        verb=removed
        ((dry_run)) && verb="would remove"
        echo "$workflow: $verb $removed entries, $freed bytes" >&2
        ;;
    *) usage >&2; die "unknown command: $command (list or gc)" ;;
esac
