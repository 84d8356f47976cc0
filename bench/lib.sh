# shellcheck shell=bash
# Shared by the benchmarks: messages and option checks, the tools a measurement needs,
# the fu binaries, the synthetic events, and timing a command over several runs.

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
script=$(basename "$0")

die() { echo "$script: $*" >&2; exit 1; }
warn() { echo "$script: warning: $*" >&2; }

# Require a positive integer option value.
posint() {
    [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive integer, got '${2:-}'"
    printf '%s\n' "$2"
}

apt_updated=0
apt_install() {
    # Run `apt-get update` at most once, and only when something is missing.
    if ((!apt_updated)); then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Debian's `time` package gives /usr/bin/time with -f; the bash keyword cannot
# report peak RSS.
[[ -x /usr/bin/time ]] || apt_install time

# fu_tools TOOL...: sets fu_bin to $FU_BIN, or to the release build, a missing tool
# built alone (a rebuild of an up-to-date tree still costs time, another build may be
# using the tree, and the whole package compiles fu-serve's BoringSSL). swift build
# keeps only the last of several --product options, hence one build a tool.
fu_tools() {
    local tool
    if [[ -n ${FU_BIN:-} ]]; then
        fu_bin=$FU_BIN
    else
        fu_bin=$root/.build/release
        for tool in "$@"; do
            if [[ ! -x $fu_bin/$tool ]]; then
                echo "building $tool (release) ..." >&2
                (cd "$root" && swift build -c release --product "$tool") >&2
            fi
        done
    fi
    for tool in "$@"; do
        [[ -x $fu_bin/$tool ]] || die "no $tool in $fu_bin"
    done
}

# events_data WORK USERS: sets zst to WORK/events.csv.zst, made by fu-synth --seed 1
# with USERS users. Data recorded (events.users) as made for another size is made
# again; data without a record (made by hand) is reused as it is. events.csv, the
# decompressed copy featurize.sh keeps, goes with the data it was made from.
events_data() {
    local work=$1 users=$2
    zst=$work/events.csv.zst
    local stamp=$work/events.users
    if [[ -f $zst && -f $stamp && $(<"$stamp") != "$users" ]]; then
        echo "data was made with --users $(<"$stamp"), regenerating for $users" >&2
        rm -f "$zst" "$work/events.csv" "$stamp"
    fi
    if [[ ! -f $zst ]]; then
        echo "generating $zst (--users $users) ..." >&2
        rm -f "$work/events.csv"
        # A temporary name and a rename: an interrupted run leaves nothing half-written.
        "$fu_bin/fu-synth" --users "$users" --seed 1 -o "$work/tmp-events.csv.zst" >&2
        mv "$work/tmp-events.csv.zst" "$zst"
        echo "$users" >"$stamp"
    fi
}

# features_data WORK USERS: sets features to WORK/features.csv, fu-featurize's table of
# the events of events_data WORK USERS, made again when the events are newer.
features_data() {
    local work=$1
    events_data "$work" "$2"
    features=$work/features.csv
    if [[ ! -f $features || $zst -nt $features ]]; then
        echo "making $features ..." >&2
        "$fu_bin/fu-featurize" -i "$zst" -o "$work/tmp-features.csv" >&2
        mv "$work/tmp-features.csv" "$features"
    fi
}

machine() {
    local cpu
    cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}"
}

# Median of the numbers on stdin, one per line.
median() {
    sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "-";
              else if (NR % 2) print v[(NR + 1) / 2];
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The last run's stdout and stderr, and /usr/bin/time's report.
run_files=$(mktemp -d)
run_stdout=$run_files/stdout
run_stderr=$run_files/stderr
trap 'rm -rf "$run_files"' EXIT

# time_runs N PREPARE CMD...: runs PREPARE (a function, untimed) and then CMD under
# /usr/bin/time, N times, and sets run_seconds, run_cpu (user + system seconds) and
# run_mb to the medians of wall time, CPU time and peak RSS, and run_kb to the median
# peak RSS in kilobytes. A failing run prints the end of its stderr and returns 1.
time_runs() {
    local n=$1 prepare=$2 i seconds=() cpus=() kilobytes=() elapsed peak user system
    shift 2
    for ((i = 1; i <= n; i++)); do
        "$prepare"
        if ! /usr/bin/time -f '%e %M %U %S' -o "$run_files/time" "$@" >"$run_stdout" 2>"$run_stderr"; then
            warn "run $i of $* failed:"
            tail -n 5 "$run_stderr" >&2
            return 1
        fi
        # On success the last line of the report is "ELAPSED_S MAXRSS_KB USER_S SYSTEM_S".
        read -r elapsed peak user system < <(tail -n 1 "$run_files/time")
        seconds+=("$elapsed")
        cpus+=("$(awk -v u="$user" -v s="$system" 'BEGIN { print u + s }')")
        kilobytes+=("$peak")
    done
    # shellcheck disable=SC2034 # run_seconds, run_cpu, run_mb and run_kb are the caller's results
    run_seconds=$(printf '%s\n' "${seconds[@]}" | median | awk '{ printf "%.2f", $1 }')
    # shellcheck disable=SC2034
    run_cpu=$(printf '%s\n' "${cpus[@]}" | median | awk '{ printf "%.2f", $1 }')
    # shellcheck disable=SC2034
    run_kb=$(printf '%s\n' "${kilobytes[@]}" | median)
    # shellcheck disable=SC2034
    run_mb=$(awk -v k="$run_kb" 'BEGIN { printf "%.1f", k / 1024 }')
}

no_preparation() { :; }

# measure_tool TOOL WHAT N CMD...: times CMD N times and adds the row
# "TOOL|WHAT|median s|median MB|N" (or a failed row) to the table; with
# measure_cpu=1, "TOOL|WHAT|median s|median CPU s|median MB|N".
measure_cpu=0
measure_tool() {
    local tool=$1 what=$2 n=$3
    shift 3
    echo "running $tool, $what ($n runs) ..." >&2
    if time_runs "$n" no_preparation "$@"; then
        if ((measure_cpu)); then
            table+=("$tool|$what|$run_seconds|$run_cpu|$run_mb|$n")
        else
            table+=("$tool|$what|$run_seconds|$run_mb|$n")
        fi
    elif ((measure_cpu)); then
        table+=("$tool|$what|-|-|-|failed")
    else
        table+=("$tool|$what|-|-|failed")
    fi
}

# A row per measurement ("a|b|..."), printed by print_table with a printf format.
table=()
print_table() {
    local format=$1 r fields
    for r in "${table[@]}"; do
        IFS='|' read -r -a fields <<<"$r"
        # shellcheck disable=SC2059 # the format is the caller's
        printf "$format" "${fields[@]}"
    done
}

# Fail the script (after everything was printed) if a measurement failed, so a broken
# tool is not mistaken for a finished benchmark.
exit_if_failed() {
    local r
    for r in "${table[@]}"; do
        [[ $r != *"|failed" ]] || exit 1
    done
}
