// Renewal arrival processes: Poisson (exponential gaps) and Gamma (gaps with a chosen CV), at a constant rate
// or along a rate curve.
#include "workload.hpp"

namespace fs {

namespace {

// Arrivals at `qps` (or along `rate_curve`) for `num_requests` requests or `duration_s` seconds, lengths drawn
// independently.
class Renewal : public WorkloadGenerator {
public:
  void parse(const JsonNode& n, const std::string& file) override
  {
    if (auto c = n.get("rate_curve")) {
      if (n.has("qps")) n.fail("qps", "give qps or rate_curve, not both");
      curve_ = parse_rate_curve(*c);
    } else {
      qps_ = n.number("qps");
    }
    num_requests_ = n.integer("num_requests", 0);
    duration_s_ = n.number("duration_s", 0);
    if (num_requests_ == 0 && duration_s_ == 0) n.fail("duration_s", "give num_requests or duration_s (> 0)");
    parse_gaps(n);
    input_ = parse_length(n.at("input"), file, true);
    output_ = parse_length(n.at("output"), file, false);
  }
  Json to_json() const override
  {
    Json j = {{"num_requests", num_requests_},
              {"duration_s", duration_s_},
              {"input", length_json(*input_)},
              {"output", length_json(*output_)}};
    if (curve_.rates.empty())
      j["qps"] = qps_;
    else
      j["rate_curve"] = rate_curve_json(curve_);
    add_gap_json(j);
    return j;
  }
  double expected_requests() const override
  {
    if (num_requests_ > 0) return double(num_requests_);
    return curve_.rates.empty() ? qps_ * duration_s_ : curve_.cumulative(duration_s_);
  }
  std::vector<RequestSpec> generate(uint64_t seed) const override
  {
    std::vector<RequestSpec> reqs;
    for (auto st = stream(seed); auto r = st->next();)
      reqs.push_back(std::move(*r));
    return reqs;
  }
  std::unique_ptr<RequestStream> stream(uint64_t seed) const override { return std::make_unique<Stream>(*this, seed); }

private:
  // Draws each request when it is taken: the arrival stream and the lengths from their own generators.
  class Stream : public RequestStream {
  public:
    Stream(const Renewal& w, uint64_t seed) : w_(w), rng_(seed), len_rng_(seed ^ 0x9e3779b97f4a7c15ULL) {}
    std::optional<RequestSpec> next() override
    {
      if (!advance()) return std::nullopt;
      const long in = w_.input_->sample(len_rng_);
      RequestSpec spec;
      spec.id = i_++;
      spec.arrival = t_;
      spec.input_tokens = in;
      spec.output_tokens = w_.output_->sample(len_rng_);
      return spec;
    }
    std::optional<double> next_arrival() override // the same arrivals: the lengths have a generator of their own
    {
      if (!advance()) return std::nullopt;
      i_++;
      return t_;
    }

  private:
    bool advance() // to the next arrival; false once they end
    {
      if (done_) return false;
      if (w_.curve_.rates.empty()) {
        t_ += w_.gap(rng_, w_.qps_);
      } else {
        s_ += w_.gap(rng_, 1); // time of the unit-rate process that the rate curve rescales
        t_ = w_.curve_.time_of(s_);
      }
      if ((w_.num_requests_ > 0 && i_ >= w_.num_requests_) || (w_.num_requests_ == 0 && t_ > w_.duration_s_)) {
        done_ = true;
        return false;
      }
      return true;
    }
    const Renewal& w_;
    std::mt19937_64 rng_, len_rng_;
    double t_ = 0, s_ = 0;
    long i_ = 0;
    bool done_ = false;
  };

protected:
  static std::vector<FieldSpec> common_fields()
  {
    return {positive("qps", 1e6, "mean arrival rate, requests/s (required without rate_curve)"),
            object("rate_curve", rate_curve_spec(), "a time-varying rate instead of qps (repeats after its last bin)"),
            integer("num_requests", 0, 1e9, "requests to generate (0: until duration_s)"),
            num("duration_s", 0, 1e8, "seconds of arrivals, when num_requests is 0"),
            required(object("input", length_spec(), "prompt tokens")),
            required(object("output", length_spec(), "output tokens"))};
  }
  virtual void parse_gaps(const JsonNode&) {}
  virtual void add_gap_json(Json&) const {}
  virtual double gap(std::mt19937_64& rng, double rate) const = 0; // a gap of the process at `rate`

private:
  double qps_ = 1;
  RateCurve curve_; // no rates: constant qps_
  long num_requests_ = 0;
  double duration_s_ = 0;
  std::shared_ptr<const LengthSampler> input_, output_;
};

class Poisson : public Renewal {
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{"poisson", "Poisson arrivals", common_fields()};
    return o;
  }
  double gap(std::mt19937_64& rng, double rate) const override
  {
    return std::exponential_distribution<double>(rate)(rng);
  }
};

class Gamma : public Renewal {
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o = [] {
      ObjectSpec g{"gamma", "Gamma renewal arrivals (bursty when cv > 1)", common_fields()};
      g.fields.push_back(required(num("cv", 0.01, 100, "coefficient of variation of the gaps")));
      return g;
    }();
    return o;
  }
  void parse_gaps(const JsonNode& n) override { cv_ = n.number("cv"); }
  void add_gap_json(Json& j) const override { j["cv"] = cv_; }
  double gap(std::mt19937_64& rng, double rate) const override
  {
    const double shape = 1.0 / (cv_ * cv_); // CV of a Gamma(k, theta) gap is 1/sqrt(k)
    return std::gamma_distribution<double>(shape, 1.0 / (rate * shape))(rng);
  }
  double cv_ = 1;
};

} // namespace

std::unique_ptr<WorkloadGenerator> make_poisson_workload() { return std::make_unique<Poisson>(); }
std::unique_ptr<WorkloadGenerator> make_gamma_workload() { return std::make_unique<Gamma>(); }

} // namespace fs
