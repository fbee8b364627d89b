# gen.sh - test data of the pathological scenario (sourced): writers of
# crafted values, bash and coreutils only, each to a file (kcat -P sends a
# file argument as one message).

# repeat_str STR N: STR written N times, no newline.
repeat_str() {
    yes -- "$1" | head -n "$2" | tr -d '\n'
}

# deep_array N FILE: N nested arrays, [[...]].
deep_array() {
    { repeat_str '[' "$1"; repeat_str ']' "$1"; } >"$2"
}

# deep_object N FILE: N nested objects, {"a":{"a":...1...}}.
deep_object() {
    { repeat_str '{"a":' "$1"; printf 1; repeat_str '}' "$1"; } >"$2"
}

# deep_play N FILE: a play event whose nesting is N deep in all (the
# top-level object and N-1 arrays under "a").
deep_play() {
    {
        printf '{"type":"play","uid":"deep","a":'
        repeat_str '[' $(($1 - 1))
        repeat_str ']' $(($1 - 1))
        printf '}'
    } >"$2"
}

# backtrack N FILE: a play event whose /s is N a's and a b: ^(a+)+$ then
# tries 2^N ways before it fails.
backtrack() {
    { printf '{"type":"play","uid":"rb","s":"'; repeat_str a "$1"
      printf 'b"}'; } >"$2"
}

# big_play BYTES FILE: a valid JSON play event of BYTES bytes or a few
# more (the padding is x's).
big_play() {
    {
        printf '{"type":"play","uid":"big","pad":"'
        head -c "$1" /dev/zero | tr '\0' x
        printf '"}'
    } >"$2"
}

# normal_events FIRST N: N normal events, "key<TAB>value" lines; even i
# is a play (route plays), odd a skip (no route: unmatched).
normal_events() {
    local i type
    for i in $(seq "$1" $(($1 + $2 - 1))); do
        type=play
        [ $((i % 2)) = 1 ] && type=skip
        printf 'u%d\t{"type":"%s","uid":"u%d","i":%d}\n' "$i" "$type" \
            "$i" "$i"
    done
}
