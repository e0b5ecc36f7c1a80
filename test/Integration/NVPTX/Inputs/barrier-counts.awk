# Compares the grouped matmul kernels of two PTX files of one model, the
# first with the block barrier a chunk, the second with empty mbarriers
# (tma-empty-barriers): for each kernel, the bar.sync sites, the releases
# (mbarrier.arrive, not arrive.expect_tx) and the mbarrier waits
# (try_wait.parity sites) in each file; prints how many kernels have fewer
# bar.sync, release a slot, wait on more mbarriers, and are unchanged.
FNR == 1 { file++ }
/^\.visible \.entry/ { kernel = $3 }
/^\.visible \.entry/ && /grouped_matmul/ { grouped[kernel] = 1 }
/bar\.sync|barrier\.sync/ { barriers[file, kernel]++ }
/mbarrier\.arrive\.shared\.b64/ { releases[file, kernel]++ }
/mbarrier\.try_wait\.parity/ { waits[file, kernel]++ }
END {
  count = 0; fewer = 0; releasing = 0; waiting = 0; same = 0
  for (k in grouped) {
    count++
    if (barriers[2, k] < barriers[1, k]) fewer++
    if (releases[2, k] > releases[1, k]) releasing++
    if (waits[2, k] > waits[1, k]) waiting++
    if (barriers[2, k] == barriers[1, k] && releases[2, k] == releases[1, k] &&
        waits[2, k] == waits[1, k]) same++
  }
  print count " grouped matmuls: " fewer " with fewer bar.sync, " releasing \
        " releasing slots, " waiting " waiting on an empty slot, " same \
        " unchanged"
}
