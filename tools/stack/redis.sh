# Redis 7 from Debian, on loopback and on the node address (for pods), with AOF on so a restart keeps every
# claim (restart tests rely on it).

redis_install() { apt_ensure redis-server; }

redis_start() {
  if pid_alive redis && redis-cli -h "$STACK_HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then return 0; fi
  local dir="$SECKILL_RUN/redis"; mkdir -p "$dir"
  # appendfsync always: a claim Redis acknowledged survives a crash. Claims are batched (one Lua call per
  # product run), so the fsync per write costs little; `everysec` could forget a second of claims whose
  # orders MySQL already has, and the next claims would then be refused by MySQL's guard.
  start_daemon redis "$SECKILL_RUN/logs/redis.log" redis-server \
    --bind "$STACK_HOST" "$NODE_IP" --port "$REDIS_PORT" --dir "$dir" \
    --appendonly yes --appendfsync always --save "" \
    --daemonize no --protected-mode no --maxclients 10000
  wait_until "redis to answer PING on $STACK_HOST:$REDIS_PORT" "$SECKILL_RUN/logs/redis.log" 30 \
    bash -c "redis-cli -h '$STACK_HOST' -p '$REDIS_PORT' ping | grep -q PONG"
}

redis_stop() { stop_daemon redis 20; }

redis_status() {
  if pid_alive redis; then echo "redis                   running  $STACK_HOST:$REDIS_PORT $NODE_IP:$REDIS_PORT"; else echo "redis                   stopped  $STACK_HOST:$REDIS_PORT $NODE_IP:$REDIS_PORT"; return 1; fi
}

redis_env() {
  echo "export REDIS_URL=redis://$STACK_HOST:$REDIS_PORT"
  echo "export POD_REDIS_URL=redis://$NODE_IP:$REDIS_PORT"
}

redis_reset() { redis_stop; rm -rf "$SECKILL_RUN/redis"; }
