// Collective: the sums and agreements that let several processes share one extraction
// (docs/DISTRIBUTED.md). Backed by LibTorch's c10d with Gloo; a single process is a world of one
// in which every operation returns its input. No networking code of our own.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hc/result.hpp"

namespace hc::native {

class Collective {
 public:
  virtual ~Collective() = default;

  // A world of one.
  static std::shared_ptr<Collective> single();
  // From the variables torchrun and cluster launchers set: RANK, WORLD_SIZE, MASTER_ADDR,
  // MASTER_PORT (GLOO_SOCKET_IFNAME picks the network interface; HC_DISTRIBUTED_TIMEOUT the
  // seconds to wait for a peer, default 1800). Without WORLD_SIZE, or with WORLD_SIZE=1: a world
  // of one. Errors: InvalidArgument for a missing or malformed variable, PeerFailed when the
  // ranks cannot meet.
  static hc::Result<std::shared_ptr<Collective>> from_environment();

  virtual int rank() const = 0;
  virtual int world() const = 0;
  bool distributed() const { return world() > 1; }

  // Element-wise sum over the ranks, in place; every rank gets bit-identical results.
  // `what` names the values for the error (PeerFailed when a peer failed or vanished).
  virtual hc::Status sum(std::vector<double>& values, const std::string& what) = 0;

  // Every rank says whether its step succeeded. Ok when all did; otherwise PeerFailed naming
  // the ranks that did not (a failing rank reports its own error instead of this one).
  hc::Status agree(bool ok, const std::string& what);

  // "rank 1 of 3: " in a distributed run, "" otherwise: the prefix of every message.
  std::string prefix() const;
};

}  // namespace hc::native
