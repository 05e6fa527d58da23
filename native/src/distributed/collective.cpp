// Collective over c10d: a TCPStore rendezvous at MASTER_ADDR:MASTER_PORT and a ProcessGroupGloo.
// The values reduced are small host vectors (per-expert sums, per-group barrier sums), so Gloo
// serves CPU and CUDA runs alike; nothing here touches the network directly.
#include "hc/native/collective.hpp"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <limits>

namespace hc::native {
namespace {

hc::Error peer_error(const std::string& prefix, const std::string& what, const std::string& why) {
  return hc::make_error(hc::ErrorCode::PeerFailed,
                        prefix + "lost contact with the other ranks while " + what + " (" + why +
                            "); another rank failed or was stopped, see its error");
}

class SingleProcess final : public Collective {
 public:
  int rank() const override { return 0; }
  int world() const override { return 1; }
  hc::Status sum(std::vector<double>&, const std::string&) override { return hc::Ok{}; }
};

class GlooCollective final : public Collective {
 public:
  GlooCollective(int rank, int world, c10::intrusive_ptr<c10d::ProcessGroupGloo> group,
                 c10::intrusive_ptr<c10d::Store> store)
      : m_rank(rank), m_world(world), m_group(std::move(group)), m_store(std::move(store)) {}

  int rank() const override { return m_rank; }
  int world() const override { return m_world; }

  hc::Status sum(std::vector<double>& values, const std::string& what) override {
    if (values.empty()) return hc::Ok{};
    try {
      std::vector<at::Tensor> tensors{
          at::from_blob(values.data(), {static_cast<int64_t>(values.size())}, at::kDouble)};
      m_group->allreduce(tensors)->wait();
    } catch (const std::exception& e) {
      return peer_error(prefix(), what, e.what());
    }
    return hc::Ok{};
  }

 private:
  int m_rank, m_world;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> m_group;
  c10::intrusive_ptr<c10d::Store> m_store;  // kept alive: rank 0 serves the rendezvous
};

hc::Result<long> integer_variable(const char* name, long low, long high, bool required,
                                  long fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') {
    if (!required) return fallback;
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          std::string(name) +
                              " is not set; a distributed run needs RANK, "
                              "WORLD_SIZE, MASTER_ADDR and MASTER_PORT");
  }
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < low || value > high) {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          std::string(name) + "=" + text + ": expected an integer in [" +
                              std::to_string(low) + ", " + std::to_string(high) + "]");
  }
  return value;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

std::shared_ptr<Collective> Collective::single() {
  return std::make_shared<SingleProcess>();
}

hc::Result<std::shared_ptr<Collective>> Collective::from_environment() {
  auto world = integer_variable("WORLD_SIZE", 1, 65536, false, 1);
  if (!world.ok()) return world.error();
  if (*world == 1) return single();
  auto rank = integer_variable("RANK", 0, *world - 1, true, 0);
  if (!rank.ok()) return rank.error();
  auto port = integer_variable("MASTER_PORT", 1, 65535, true, 0);
  if (!port.ok()) return port.error();
  auto timeout_s = integer_variable("HC_DISTRIBUTED_TIMEOUT", 1, 7 * 24 * 3600, false, 1800);
  if (!timeout_s.ok()) return timeout_s.error();
  const char* addr = std::getenv("MASTER_ADDR");
  if (addr == nullptr || *addr == '\0') {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          "MASTER_ADDR is not set; a distributed run needs RANK, WORLD_SIZE, "
                          "MASTER_ADDR and MASTER_PORT");
  }
  const std::string prefix =
      "rank " + std::to_string(*rank) + " of " + std::to_string(*world) + ": ";
  const std::string where = std::string(addr) + ":" + std::to_string(*port);
  // A peer that dies closes its sockets; writing to them must fail with EPIPE, which Gloo
  // reports, rather than kill this process with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(*port);
    store_options.isServer = *rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(*world);
    store_options.timeout = std::chrono::seconds(*timeout_s);
    auto store = c10::make_intrusive<c10d::TCPStore>(addr, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = std::chrono::seconds(*timeout_s);
    if (const char* iface = std::getenv("GLOO_SOCKET_IFNAME"); iface && *iface) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
    } else if (is_loopback(addr)) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(*rank),
                                                             static_cast<int>(*world), options);
    return std::shared_ptr<Collective>(std::make_shared<GlooCollective>(
        static_cast<int>(*rank), static_cast<int>(*world), group, store));
  } catch (const std::exception& e) {
    return hc::make_error(hc::ErrorCode::PeerFailed,
                          prefix + "could not meet the other ranks at " + where + " (" + e.what() +
                              "); check MASTER_ADDR, MASTER_PORT and that every rank started");
  }
}

hc::Status Collective::agree(bool ok, const std::string& what) {
  if (!distributed()) return hc::Ok{};
  std::vector<double> failed(static_cast<std::size_t>(world()), 0.0);
  failed[static_cast<std::size_t>(rank())] = ok ? 0.0 : 1.0;
  HC_TRY_STATUS(sum(failed, what));
  std::string ranks;
  for (std::size_t r = 0; r < failed.size(); ++r) {
    if (failed[r] != 0.0) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
  }
  if (ranks.empty() || !ok) return hc::Ok{};
  return hc::make_error(hc::ErrorCode::PeerFailed,
                        prefix() + "rank " + ranks + " failed while " + what + "; see its error");
}

std::string Collective::prefix() const {
  if (!distributed()) return "";
  return "rank " + std::to_string(rank()) + " of " + std::to_string(world()) + ": ";
}

}  // namespace hc::native
