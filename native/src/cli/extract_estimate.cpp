// `hodgecover extract --estimate`: reads config.json alone, measures this CPU's product
// throughput when the estimate is for `cpu`, and prints the cost per stage (or --json).
#include "extract_estimate.hpp"

#include <ATen/ATen.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "cli_common.hpp"
#include "hc/native/text.hpp"

namespace hc::native {
namespace {

// FLOP/s of this machine's [512 x 1024] x [1024 x 1024] products in `dtype`, best of three.
double measured_rate(at::ScalarType dtype) {
  const at::Tensor a = at::randn({512, 1024}).to(dtype), b = at::randn({1024, 1024}).to(dtype);
  double best = 1e300;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    at::Tensor c = at::mm(a, b);
    (void)c.sum().item<double>();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 2.0 * 512 * 1024 * 1024 / best;
}

// Bytes per second of copying a 256 MiB fp64 tensor (read + write), best of three.
double measured_bandwidth() {
  const at::Tensor a = at::ones({int64_t(1) << 25}, at::kDouble);
  at::Tensor b = at::empty_like(a);
  double best = 1e300;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    b.copy_(a);
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 2.0 * double(a.numel()) * 8.0 / best;
}

DeviceProfile estimate_device(const std::string& name) {
  if (name != "cpu" && name != "auto") return take_option("--device", named_device_profile(name));
  DeviceProfile p;
  p.name = "cpu (measured here)";
  p.fp32 = p.tf32 = measured_rate(at::kFloat);
  p.bf16 = measured_rate(at::kBFloat16);
  p.fp64 = measured_rate(at::kDouble);
  p.bytes_per_s = measured_bandwidth();
  return p;
}

double value_bytes(const nlohmann::json& config) {
  const std::string dtype = config.value("torch_dtype", config.value("dtype", "bfloat16"));
  return dtype == "float32" ? 4.0 : 2.0;
}

std::string gib(double bytes) {
  return strprintf("%.2f GiB", bytes / (1024.0 * 1024 * 1024));
}
std::string duration(double s) {
  if (s < 120) return strprintf("%.1f s", s);
  if (s < 7200) return strprintf("%.1f min", s / 60);
  return strprintf("%.1f h", s / 3600);
}

}  // namespace

int run_extract_estimate(const EstimateArgs& args) {
  const std::filesystem::path config_path = std::filesystem::path(args.model) / "config.json";
  std::ifstream in(config_path);
  if (!in) fail(hc::ErrorCode::InputUnreadable, config_path.string() + ": cannot read");
  const auto config = nlohmann::json::parse(in, nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    fail(hc::ErrorCode::Malformed, config_path.string() + ": not a JSON object");
  }
  auto spec = model_spec_from_config(config);
  if (!spec.ok()) {
    fail(spec.error().code, config_path.string() + ": " + spec.error().message);
  }
  if (spec->moe_layers().empty()) {
    fail(hc::ErrorCode::Malformed, config_path.string() + ": the model has no MoE layers");
  }
  EstimateRequest request;
  request.seq_len = args.seq_len > 0 ? args.seq_len : default_sequence_length(*spec);
  request.tokens = std::max<std::size_t>(1, args.tokens / request.seq_len) * request.seq_len;
  request.barrier = args.barrier;
  request.max_triangles = args.max_triangles;
  request.candidate_quantile = args.candidate_quantile;
  request.lens = args.lens;
  request.lens.kind = resolve_lens_support(args.lens, spec->vocab_size);
  request.processes = args.processes;
  request.checkpoint_bytes_per_value = value_bytes(config);
  const DeviceProfile device = estimate_device(args.device);
  // auto: fp32 on CPU, the GPU default on a GPU profile.
  request.dtype =
      args.compute_dtype == "auto"
          ? (device.memory_bytes > 0 ? kGpuDefaultDtype : ComputeDtype::Fp32)
          : take_option("--compute-dtype",
                        parse_compute_dtype(args.compute_dtype, device.memory_bytes > 0
                                                                    ? at::Device(at::kCUDA, 0)
                                                                    : at::Device(at::kCPU)));
  const ExtractEstimate e = estimate_extract(*spec, request, device);
  const double rate = request.dtype == ComputeDtype::Bf16   ? device.bf16
                      : request.dtype == ComputeDtype::Tf32 ? device.tf32
                                                            : device.fp32;
  if (args.json) {
    nlohmann::json stages = nlohmann::json::object();
    for (const auto& s : e.stages) stages[s.stage] = {{"flops", s.flops}, {"seconds", s.seconds}};
    print_json({{"model", args.model},
                {"family", family_model_type(spec->family)},
                {"moe_layers", e.moe_layers},
                {"experts", spec->num_experts},
                {"tokens", request.tokens},
                {"seq_len", request.seq_len},
                {"barrier", barrier_name(request.barrier)},
                {"lens_support", request.barrier == BarrierKind::KlLens
                                     ? nlohmann::json(lens_support_name(request.lens.kind))
                                     : nlohmann::json(nullptr)},
                {"compute_dtype", compute_dtype_name(request.dtype)},
                {"processes", request.processes},
                {"device", device.name},
                {"device_flops_per_s", rate},
                {"device_bytes_per_s", device.bytes_per_s},
                {"stages", stages},
                {"seconds", e.seconds},
                {"pair_groups_per_layer", e.pair_groups},
                {"triangle_groups_per_layer", e.triangle_groups},
                {"merged_token_evaluations", e.merged_token_evaluations},
                {"device_peak_bytes", e.device_peak_bytes},
                {"host_peak_bytes", e.host_peak_bytes},
                {"disk_bytes_per_process", e.disk_bytes}});
    return kExitOk;
  }
  std::cout << "estimate for " << args.model << " (" << family_model_type(spec->family)
            << "): " << e.moe_layers << " MoE layers x " << spec->num_experts << " experts, top-"
            << spec->top_k << ", vocabulary " << spec->vocab_size << "\n"
            << request.tokens << " tokens in sequences of " << request.seq_len << ", "
            << barrier_name(request.barrier)
            << (request.barrier == BarrierKind::KlLens
                    ? std::string(" (") + lens_support_name(request.lens.kind) + " lens)"
                    : std::string())
            << ", " << compute_dtype_name(request.dtype) << " products, " << request.processes
            << " process(es) on " << device.name
            << strprintf(" (%.1f TFLOP/s sustained)\n", rate / 1e12);
  std::cout << strprintf("  %-11s %12s %12s\n", "stage", "TFLOP", "time");
  for (const auto& s : e.stages) {
    std::cout << strprintf("  %-11s %12.1f %12s\n", s.stage.c_str(), s.flops / 1e12,
                           duration(s.seconds).c_str());
  }
  std::cout << strprintf("  %-11s %12s %12s\n", "total", "", duration(e.seconds).c_str());
  std::cout << "peak device memory " << gib(e.device_peak_bytes) << " per process"
            << (device.memory_bytes > 0 && e.device_peak_bytes > device.memory_bytes
                    ? " (more than the device has: use more processes or fewer --tokens)"
                    : "")
            << ", host " << gib(e.host_peak_bytes) << ", read from disk " << gib(e.disk_bytes)
            << " per process\n";
  return kExitOk;
}

}  // namespace hc::native
