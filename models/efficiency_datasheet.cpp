#include "efficiency_datasheet.hpp"

namespace fs {

double DatasheetEfficiency::compute_eff(const Op& op, Dtype dtype) const
{
  switch (op.kind) {
  case OpKind::gemm:
    return (dtype == Dtype::fp8 ? fp8_gemm_eff_max : gemm_eff_max) * op.m / (op.m + gemm_m_half);
  case OpKind::attention_prefill:
  case OpKind::attention_decode:
    return attention_eff;
  default:
    return gemm_eff_max;
  }
}

} // namespace fs
