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
      of interrupted runs; --dry-run only says what it would remove

Options:
  --cache-dir DIR   [.fu-cache]
  -h, --help        this text
USAGE
}

die() { echo "$workflow: error: $*" >&2; exit 64; }

(($#)) || { usage >&2; exit 64; }
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
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
[[ $keep_days =~ ^[0-9]+$ ]] || die "--keep-days needs a whole number of days, not '$keep_days'"

# Entries are CACHE/STAGE/KEY folders; .tmp-* and .old-* are runs' leftovers.
entries() { find "$cache_dir" -mindepth 2 -maxdepth 2 -type d ! -name '.*' 2>/dev/null | sort; }

case $command in
    list)
        printf '%-18s %-12s %-16s %10s  %s\n' stage key last-used bytes made-by
        while IFS= read -r entry; do
            about=$entry/.about
            made="(no .about: made before fu recorded it)"
            if [ -f "$about" ]; then
                made=$(sed -n 's/^args=//p' "$about")
                inputs=$(sed -n 's/^input=\([0-9a-f]\{12\}\)[0-9a-f]* \(.*\)/\2@\1/p' "$about" | paste -sd' ' -)
                [ -z "$inputs" ] || made="$made  <- $inputs"
            fi
            printf '%-18s %-12s %-16s %10s  %s\n' "$(basename "$(dirname "$entry")")" "$(basename "$entry" | cut -c1-12)" \
                "$(date -u -r "$entry" +%Y-%m-%dT%H:%MZ)" "$(du -sb "$entry" | cut -f1)" "$made"
        done < <(entries)
        ;;
    gc)
        removed=0
        freed=0
        while IFS= read -r entry; do
            bytes=$(du -sb "$entry" | cut -f1)
            if ((dry_run)); then
                echo "$workflow: would remove $entry ($bytes bytes)"
            else
                rm -rf "$entry"
            fi
            removed=$((removed + 1))
            freed=$((freed + bytes))
        done < <(
            if ((keep_days == 0)); then entries; else entries | while IFS= read -r e; do
                [ -n "$(find "$e" -maxdepth 0 -mtime +"$((keep_days - 1))")" ] && echo "$e"
            done; fi
            find "$cache_dir" -mindepth 2 -maxdepth 2 -type d \( -name '.tmp-*' -o -name '.old-*' \) -mmin +60 2>/dev/null
        )
        verb=removed
        ((dry_run)) && verb="would remove"
        echo "$workflow: $verb $removed entries, $freed bytes" >&2
        ;;
    *) usage >&2; die "unknown command: $command (list or gc)" ;;
esac
