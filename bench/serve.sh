#!/usr/bin/env bash
# Measures `amscrypt serve` against a static file server, for bench/README.md
# ("serve"). Run from anywhere in the repository:
#
#   bash bench/serve.sh [-size 1G] [-rounds 5] [-dir /dev/shm]
#
# (a) Throughput of one large ranged read: a -size random file, encrypted by
#     testdata/serve/encrypt_asset.py (Python cryptography), is read whole
#     with `curl -r 0- -o /dev/null` from
#       - amscrypt serve (decrypting the ciphertext),
#       - bench/staticserve (http.FileServer over the plaintext: the same Go
#         HTTP stack and range code, sending with sendfile(2)),
#       - bench/staticserve -no-sendfile (the same, copying through a user-space
#         buffer, the least a server that transforms the bytes must do),
#     in -rounds rounds, the order rotating each round; reported: median wall
#     time (curl's time_total), MB/s, the server's CPU time per run (from
#     /proc/PID/stat), and ratios.
# (b) Time to first byte of a 64 KiB range from a 4 GiB sparse "ciphertext"
#     (truncate -s 4G; .bin, so its head check cannot fail) against a 4 MiB
#     one, at the start, the middle and the end of each file, 21 requests per
#     cell interleaved; reported: median and 90th percentile of curl's
#     time_starttransfer, and how long serve took to start with each asset;
#     bench/staticserve sending the 4 GiB file as it is gives the baseline.
#
# Everything lives in a temporary directory under -dir and is removed at the
# end. Needs go, python3 with cryptography, and curl.
set -euo pipefail

size=1G
rounds=5
dir=/dev/shm
while (($#)); do
	case $1 in
	-size) size=$2 ;;
	-rounds) rounds=$2 ;;
	-dir) dir=$2 ;;
	*)
		echo "usage: bash bench/serve.sh [-size 1G] [-rounds 5] [-dir /dev/shm]" >&2
		exit 2
		;;
	esac
	shift 2
done
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "$dir/bench-serve.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$root" && go build -o "$work/amscrypt" ./cmd/amscrypt && go build -o "$work/staticserve" ./bench/staticserve)
# A python3 with cryptography: the first on PATH, or Debian's.
py=python3
python3 -c 'import cryptography' 2>/dev/null || py=/usr/bin/python3

# start NAME COMMAND...: starts a server that prints its base URL on stdout;
# sets $url and $pid.
start() {
	local name=$1 _
	shift
	: >"$work/$name.out"
	"$@" >"$work/$name.out" 2>"$work/$name.err" &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 1 600); do
		if [[ $(wc -l <"$work/$name.out") -ge 1 ]]; then
			url=$(head -n 1 "$work/$name.out")
			url=${url/0.0.0.0/127.0.0.1}
			return 0
		fi
		kill -0 "$pid" || {
			cat "$work/$name.err" >&2
			return 1
		}
		sleep 0.05
	done
	echo "$name did not start" >&2
	return 1
}
# cpu PID: user+system CPU seconds the process has used.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
# median and p90 of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
p90() { sort -g | awk '{ v[NR] = $1 } END { i = int(NR * 0.9 + 0.5); if (i < 1) i = 1; print v[i] }'; }

echo "bench/serve.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), $(go version | cut -d' ' -f3), kernel $(uname -r), $(curl --version | head -n 1 | cut -d' ' -f1-2), dir $dir, load $(cut -d' ' -f1-3 /proc/loadavg)"

# (a) throughput ---------------------------------------------------------------
mkdir -p "$work/plain" "$work/enc"
head -c "$size" /dev/urandom >"$work/plain/big.bin"
bytes=$(stat -c %s "$work/plain/big.bin")
"$py" "$root/testdata/serve/encrypt_asset.py" --out "$work/enc" --keys-out "$work/keys.json" "$work/plain/big.bin"

start serve "$work/amscrypt" serve --keys "$work/keys.json" --in "$work/enc"
serve_url=$url serve_pid=$pid
start static "$work/staticserve" -root "$work/plain"
static_url=$url static_pid=$pid
start copy "$work/staticserve" -root "$work/plain" -no-sendfile
copy_url=$url copy_pid=$pid

# One checked read of each, which also warms the page cache and the servers.
for u in "$serve_url" "$static_url" "$copy_url"; do
	curl -sS -r 0- "${u}big.bin" | cmp - "$work/plain/big.bin"
done

servers=(serve static copy)
declare -A base_url=([serve]=$serve_url [static]=$static_url [copy]=$copy_url)
declare -A server_pid=([serve]=$serve_pid [static]=$static_pid [copy]=$copy_pid)
: >"$work/a.tsv"
for ((r = 0; r < rounds; r++)); do
	for ((i = 0; i < ${#servers[@]}; i++)); do
		s=${servers[(i + r) % ${#servers[@]}]}
		c0=$(cpu "${server_pid[$s]}")
		t=$(curl -sS -r 0- -o /dev/null -w '%{time_total} %{size_download}' "${base_url[$s]}big.bin")
		c1=$(cpu "${server_pid[$s]}")
		read -r secs got <<<"$t"
		[[ $got == "$bytes" ]] || {
			echo "$s: got $got of $bytes bytes" >&2
			exit 1
		}
		printf '%s\t%s\t%s\n' "$s" "$secs" "$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" >>"$work/a.tsv"
	done
done
declare -A med cpu_med
for s in "${servers[@]}"; do
	med[$s]=$(awk -v s="$s" '$1 == s { print $2 }' "$work/a.tsv" | median)
	cpu_med[$s]=$(awk -v s="$s" '$1 == s { print $3 }' "$work/a.tsv" | median)
done
echo
echo "(a) one curl -r 0- of a $bytes-byte file, $rounds rounds, order rotating, medians (all runs: s, server CPU s)"
printf '| server | wall | MB/s | server CPU | vs staticserve | vs -no-sendfile |\n|---|---:|---:|---:|---:|---:|\n'
for s in "${servers[@]}"; do
	runs=$(awk -v s="$s" '$1 == s { printf "%s%.3f/%.2f", sep, $2, $3; sep = " " }' "$work/a.tsv")
	awk -v s="$s" -v t="${med[$s]}" -v c="${cpu_med[$s]}" -v b="$bytes" -v st="${med[static]}" -v cp="${med[copy]}" -v runs="$runs" \
		'BEGIN { printf "| %s | %.3f s | %.0f | %.2f s | %.2fx | %.2fx |   (%s)\n", s, t, b / t / 1e6, c, st / t, cp / t, runs }'
done

kill "$serve_pid" "$static_pid" "$copy_pid"
wait "$serve_pid" "$static_pid" "$copy_pid" 2>/dev/null || true
rm -f "$work/plain/big.bin" "$work/enc/big.bin"

# (b) time to first byte ------------------------------------------------------
# ttfb NAME SIZE: an asset of one sparse file of SIZE, its serve start time,
# then the TTFB of 64 KiB ranges at its start, middle and end.
mkdir -p "$work/huge" "$work/small"
truncate -s 4G "$work/huge/sparse.bin"
truncate -s 4M "$work/small/sparse.bin"
"$py" "$root/testdata/serve/encrypt_asset.py" --out "$work/huge" --keys-out "$work/huge.json" --existing sparse.bin
"$py" "$root/testdata/serve/encrypt_asset.py" --out "$work/small" --keys-out "$work/small.json" --existing sparse.bin
declare -A start_s ttfb_url fsize label
for a in huge small; do
	t0=$(date +%s.%N)
	start "$a" "$work/amscrypt" serve --keys "$work/$a.json" --in "$work/$a"
	t1=$(date +%s.%N)
	start_s[$a]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f s", b - a }')
	ttfb_url[$a]=${url}sparse.bin
	fsize[$a]=$(stat -c %s "$work/$a/sparse.bin")
	label[$a]="amscrypt serve, ${fsize[$a]} B"
done
# The baseline: the 4 GiB file as it is (plaintext) from the static server.
start static-huge "$work/staticserve" -root "$work/huge"
ttfb_url[static]=${url}sparse.bin fsize[static]=${fsize[huge]} start_s[static]=- label[static]="staticserve, ${fsize[huge]} B"
cells=(huge small static)
: >"$work/b.tsv"
for ((r = 0; r < 21; r++)); do
	for a in "${cells[@]}"; do
		for where in start middle end; do
			case $where in
			start) off=0 ;;
			middle) off=$((fsize[$a] / 2 + 12345)) ;;
			end) off=$((fsize[$a] - 65536)) ;;
			esac
			t=$(curl -sS -r "$off-$((off + 65535))" -o /dev/null -w '%{http_code} %{time_starttransfer} %{time_total}' "${ttfb_url[$a]}")
			read -r code first total <<<"$t"
			[[ $code == 206 ]] || {
				echo "$a $where: HTTP $code" >&2
				exit 1
			}
			printf '%s\t%s\t%s\t%s\n' "$a" "$where" "$first" "$total" >>"$work/b.tsv"
		done
	done
done
echo
echo "(b) 64 KiB ranges from a sparse source, 21 requests per cell interleaved: time to first byte, median / p90 (whole response median)"
printf '| server, source | start-up | start | middle | end |\n|---|---:|---:|---:|---:|\n'
for a in "${cells[@]}"; do
	row="| ${label[$a]} | ${start_s[$a]}"
	for where in start middle end; do
		m=$(awk -v a="$a" -v w="$where" '$1 == a && $2 == w { print $3 }' "$work/b.tsv" | median)
		p=$(awk -v a="$a" -v w="$where" '$1 == a && $2 == w { print $3 }' "$work/b.tsv" | p90)
		tt=$(awk -v a="$a" -v w="$where" '$1 == a && $2 == w { print $4 }' "$work/b.tsv" | median)
		row+=$(awk -v m="$m" -v p="$p" -v t="$tt" 'BEGIN { printf " | %.2f / %.2f ms (%.2f ms)", m * 1000, p * 1000, t * 1000 }')
	done
	echo "$row |"
done
