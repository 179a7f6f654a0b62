# Sourced by the bench scripts: one qbsupervisor on loopback ports.
# Needs BIN (the build's bin/) and DIR (a scratch directory the script removes).

# start_supervisor [ARGS...]: qbsupervisor with its data in $DIR/data and its log
# appended to $DIR/supervisor.log; sets SUP; returns once it has written its
# endpoints, with QB_SUPERVISOR exported for qb and qbsub.
start_supervisor() {
  rm -f "$DIR/data/endpoints.json"
  "$BIN/qbsupervisor" --data "$DIR/data" --workers tcp://127.0.0.1:0 --clients tcp://127.0.0.1:0 \
    --log-level warn "$@" >> "$DIR/supervisor.log" 2>&1 &
  SUP=$!
  for _ in $(seq 500); do [ -s "$DIR/data/endpoints.json" ] && break; sleep 0.02; done
  [ -s "$DIR/data/endpoints.json" ] || { echo "the supervisor did not start (see $DIR/supervisor.log)" >&2; exit 1; }
  QB_SUPERVISOR=$(endpoint clients)
  export QB_SUPERVISOR
}

# endpoint NAME: the supervisor's `workers` or `clients` endpoint.
endpoint() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$DIR/data/endpoints.json"; }
