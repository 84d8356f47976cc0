# shellcheck shell=bash
# shellcheck disable=SC2154  # workflow, fu_version, cache_dir, force, from_stage, stage_order: set by the script that sources this
# Shared by the workflows: finding the tools, the stage cache, the summary table.
# A stage's outputs live in CACHE/NAME/KEY/, where KEY hashes the stage name, the fu
# version, the exact arguments and the content of every input file. An entry appears by
# one rename of a finished folder, so a failed stage leaves nothing and two workflows
# running at once never see half an entry. Its manifest (.sha256, written last) is checked
# before every use: a file damaged later (a full disk, a stray edit) is rebuilt, not trusted.

fu_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=workflows/messages.sh
source "$fu_root/workflows/messages.sh"

# Where the fu tools are: $FU_BIN, else the release build, else PATH.
fu_tool() {
    local name=$1
    if [ -n "${FU_BIN:-}" ] && [ -x "$FU_BIN/$name" ]; then
        printf '%s\n' "$FU_BIN/$name"
    elif [ -x "$fu_root/.build/release/$name" ]; then
        printf '%s\n' "$fu_root/.build/release/$name"
    elif command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
    else
        echo "$workflow: $name not found: build with 'swift build -c release' or put it on PATH" >&2
        exit 69
    fi
}

# grouped N: N with thousands separated (1,600,000), as the tools' summaries write counts.
grouped() {
    awk -v n="$1" 'BEGIN { s = n ""; while (match(s, /[0-9][0-9][0-9][0-9]([,]|$)/)) s = substr(s, 1, RSTART) "," substr(s, RSTART + 1); print s }'
}

die() { say "error: $*"; exit 1; }

now() { date +%s.%N; }

# The summary table rows (stage|cached or ran|seconds|output bytes), in a file so that
# stages run in parallel subshells report too.
summary_file=$(mktemp)
# Temporaries of the outputs not yet published (see new_output).
pending_outputs=()
pending_targets=()
# The folder of the stage running in this shell, and the stage jobs running in the
# background (start_stage): what an exit, SIGINT or SIGTERM must not leave behind.
stage_temporary=""
stage_jobs=()
trap 'stop_stages; rm -rf "$summary_file" "${pending_outputs[@]}" ${stage_temporary:+"$stage_temporary"}' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# file_digest FILE WHAT: prints the SHA-256 of FILE's content; when FILE cannot be read,
# stops the workflow saying WHAT (in a $(…), the caller must exit too).
file_digest() {
    local digest
    # 2>&1 first: a failed redirection's message is the reason too.
    if ! digest=$(sha256sum 2>&1 < "$1") || [[ ! $digest =~ ^[0-9a-f]{64}\  ]]; then
        die "$2: cannot read '$(shown "$1")' ($(shown "${digest##*: }"))"
    fi
    printf '%s\n' "${digest%% *}"
}

# stage_path NAME ARGS INPUT...: sets stage_dir to the stage's cache entry, and
# stage_material to what its key was made of (the stage, the fu version, the arguments and
# each input's digest; kept in the entry's .about, so `cache.sh list` can say what made
# it). The key leaves out the inputs' paths: the same bytes under another name are a hit.
# An input that cannot be hashed stops the workflow: a key without its content would
# serve another input's results.
stage_path() {
    local name=$1 arguments=$2 file digest key
    shift 2
    printf -v key 'stage=%s\nversion=%s\nargs=%s' "$name" "$fu_version" "$arguments"
    stage_material=$key
    for file in "$@"; do
        digest=$(file_digest "$file" "stage '$name' has no cache key") || exit 1
        key+=$'\n'input=$digest
        stage_material+=$'\n'"input=$digest $(shown "$file")"
    done
    digest=$(printf '%s\n' "$key" | sha256sum) || die "stage '$name': sha256sum failed, so it has no cache key"
    stage_dir=$cache_dir/$name/${digest%% *}
}

# What the files a stage reads from the cache are to the user, by path (name_stage_file):
# a tool's message names the file it read, and a path under the cache means nothing to
# the user, so a failing stage says what each of its inputs from the cache is.
declare -A stage_file_names=()

# name_stage_file FILE WHAT: FILE is WHAT (e.g. "the features of 'events.csv' (stage featurize)").
name_stage_file() { stage_file_names[$1]=$2; }

# name_stage_inputs INPUT...: one line for each input named by name_stage_file, after
# the failing tool's messages (which stay as the tool wrote them, in the logs too).
name_stage_inputs() {
    local file
    for file in "$@"; do
        [ -n "${stage_file_names[$file]+set}" ] || continue
        say "$(shown "$file") is ${stage_file_names[$file]}"
    done
}

# The manifest of an entry: the SHA-256 of each of its files.
write_manifest() { (cd "$1" && sha256sum -- * > .sha256); }

# entry_ok DIR: the entry's files are exactly those of its manifest, with the same digests
# (a missing, truncated or extra file, or a missing or cut manifest, fails).
entry_ok() {
    [ -f "$1/.sha256" ] && [ "$(cd "$1" && sha256sum -- * 2>/dev/null)" = "$(cat "$1/.sha256")" ]
}

# Which stage of how many is running, said as "[k/n] NAME: running": the workflow sets
# stage_total, and each run_stage takes the next number, but the parallel stages between
# begin_stage_group and wait_stages share one.
stage_total=0
stage_number=0
stage_grouped=0
begin_stage_group() {
    stage_number=$((stage_number + 1))
    stage_grouped=1
}
stage_label() {
    if ((stage_total)); then printf '[%d/%d] ' "$stage_number" "$stage_total"; fi
}

# run_stage NAME ARGS FUNCTION INPUT...: runs FUNCTION OUT_DIR unless a sound cache entry
# for the same key exists (and the stage is not forced). Sets stage_dir to the entry.
run_stage() {
    local name=$1 arguments=$2 body=$3
    shift 3
    ((stage_grouped)) || stage_number=$((stage_number + 1))
    stage_path "$name" "$arguments" "$@"
    local started
    started=$(now)
    if [ -d "$stage_dir" ] && ! stage_forced "$name"; then
        if entry_ok "$stage_dir"; then
            touch "$stage_dir"  # last used, for cache.sh gc
            say "$(stage_label)$name: cached"
            echo "$name|cached|0.00|$(du -sb "$stage_dir" | cut -f1)" >> "$summary_file"
            return 0
        fi
        say "warning: stage '$name': damaged cache entry $(shown "$stage_dir") (its files do not match its manifest); rebuilding it"
    fi
    # The temporary's name holds this shell's process id (not the $(…) subshell's): cache.sh
    # gc removes it once that process has gone.
    local owner=$BASHPID
    if ! mkdir -p "$cache_dir/$name" || ! stage_temporary=$(mktemp -d "$cache_dir/$name/.tmp-$owner-XXXXXX"); then
        die "stage '$name': cannot make a folder in '$(shown "$cache_dir/$name")'"
    fi
    say "$(stage_label)$name: running"
    printf '%s\ncreated=%s\n' "$stage_material" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$stage_temporary/.about"
    if ! "$body" "$stage_temporary" || ! write_manifest "$stage_temporary"; then
        name_stage_inputs "$@"
        die "stage '$name' failed (see the messages above and ${FU_LOG_DIR:-logs}/error.log)"
    fi
    if [ -d "$stage_dir" ] && { stage_forced "$name" || ! entry_ok "$stage_dir"; }; then
        # A forced rerun or a damaged entry is replaced: move the old one aside, then rename.
        # (A damaged one another run rebuilt meanwhile is sound again, and kept.)
        local old=$cache_dir/$name/.old-$owner-$RANDOM
        mv -T "$stage_dir" "$old" 2>/dev/null || true
        rm -rf "$old"
    fi
    # When the rename fails, another run made the same entry meanwhile: it holds the same
    # bytes, and may be in use, so ours is the one dropped.
    mv -T "$stage_temporary" "$stage_dir" 2>/dev/null || rm -rf "$stage_temporary"
    stage_temporary=""
    local seconds
    seconds=$(awk -v end="$(now)" -v start="$started" 'BEGIN { printf "%.2f", end - start }')
    echo "$name|ran|$seconds|$(du -sb "$stage_dir" | cut -f1)" >> "$summary_file"
}

# start_stage NAME ARGS FUNCTION INPUT...: run_stage as a background job, in a process
# group of its own so that stop_stages stops its tool too (a background job of a script
# would ignore SIGINT). wait_stages waits for them.
start_stage() {
    set -m
    (
        trap 'rm -rf ${stage_temporary:+"$stage_temporary"}' EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        run_stage "$@"
    ) &
    stage_jobs+=("$!")
    set +m
}

# wait_stages WHAT: waits for every stage job; the first to fail fails WHAT, and the exit
# trap stops the others.
wait_stages() {
    local pid="" status job left
    while ((${#stage_jobs[@]})); do
        status=0
        wait -n -p pid "${stage_jobs[@]}" || status=$?
        left=()
        for job in "${stage_jobs[@]}"; do [ "$job" = "$pid" ] || left+=("$job"); done
        stage_jobs=("${left[@]}")
        ((status == 0)) || die "stage '$1' failed"
    done
    stage_grouped=0
}

# Stops the stage jobs still running (their whole process groups) and waits for them.
stop_stages() {
    local pid
    for pid in "${stage_jobs[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for pid in "${stage_jobs[@]}"; do wait "$pid" 2>/dev/null || true; done
    stage_jobs=()
}

# A stage is forced by --force, or by --from naming it or an earlier stage.
stage_forced() {
    local name=$1 stage
    [ "$force" = 1 ] && return 0
    [ -z "$from_stage" ] && return 1
    local reached=0
    for stage in "${stage_order[@]}"; do
        [ "$stage" = "$from_stage" ] && reached=1
        # featurize-partition, featurize-shard-I-of-N and featurize-merge are featurize.
        if { [[ $name == featurize-* ]] && [ "$stage" = featurize ]; } || [ "$name" = "$stage" ]; then
            [ "$reached" = 1 ] && return 0
            return 1
        fi
    done
    return 1
}

print_summary() {
    {
        printf '%-22s %-7s %9s %12s\n' stage status seconds bytes
        local stage status seconds bytes
        while IFS='|' read -r stage status seconds bytes; do
            printf '%-22s %-7s %9s %12s\n' "$stage" "$status" "$seconds" "$bytes"
        done < "$summary_file"
    } >&2
}

# new_output TARGET: sets output_file to a new temporary beside TARGET, which
# publish_outputs renames onto it. Until then a failure leaves every old output as it was.
new_output() {
    local target=$1
    output_file=$(mkdir -p "$(dirname "$target")" && mktemp "$(dirname "$target")/.$(basename "$target").XXXXXX") ||
        die "cannot write '$target' (no output was changed)"
    pending_outputs+=("$output_file")
    pending_targets+=("$target")
    chmod 644 "$output_file"
}

# prepare_output SOURCE TARGET: new_output with a copy of SOURCE (.zst decompressed for a
# plain TARGET).
prepare_output() {
    local source=$1 target=$2
    new_output "$target"
    if [[ $source == *.zst && $target != *.zst ]]; then
        zstd -q -d -c "$source" > "$output_file"
    else
        cp "$source" "$output_file"
    fi || die "cannot write '$target' (no output was changed)"
}

# Renames every prepared output into place, only once all of them are written.
publish_outputs() {
    local i
    for i in "${!pending_outputs[@]}"; do
        mv -f "${pending_outputs[$i]}" "${pending_targets[$i]}"
    done
    pending_outputs=()
    pending_targets=()
}
