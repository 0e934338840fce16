#include "core/conversation.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lantern::core {
namespace {

constexpr absl::Duration kRecentDistress = absl::Hours(1);
constexpr absl::Duration kEscalationSpan = absl::Hours(6);

// "3 minutes", "2 hours", "under a minute".
std::string Ago(absl::Duration d) {
  if (d < absl::Minutes(1)) return "under a minute";
  if (d < absl::Hours(2)) {
    const int64_t m = absl::ToInt64Minutes(d);
    return absl::StrCat(m, m == 1 ? " minute" : " minutes");
  }
  return absl::StrCat(absl::ToInt64Hours(d), " hours");
}

std::string Ordinal(int n) {
  static constexpr const char* kWords[] = {
      "first", "second",  "third",  "fourth", "fifth",
      "sixth", "seventh", "eighth", "ninth",  "tenth"};
  if (n >= 1 && n <= 10) return kWords[n - 1];
  return absl::StrCat(n, "th");
}

// Least-squares slope of `scores` against their index.
float Slope(const std::vector<float>& scores) {
  const int n = static_cast<int>(scores.size());
  if (n < 2) return 0.0f;
  double mean_x = (n - 1) / 2.0, mean_y = 0;
  for (float s : scores) mean_y += s;
  mean_y /= n;
  double num = 0, den = 0;
  for (int i = 0; i < n; ++i) {
    num += (i - mean_x) * (scores[i] - mean_y);
    den += (i - mean_x) * (i - mean_x);
  }
  return static_cast<float>(num / den);
}

}  // namespace

absl::Status ContextOptions::Validate() const {
  if (max_messages < 1 || max_messages > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("context messages must be 1..256, got ", max_messages));
  }
  if (window < absl::Minutes(1) || window > absl::Hours(24 * 7)) {
    return absl::InvalidArgumentError(
        absl::StrCat("context window must be 1 minute to 7 days, got ",
                     absl::FormatDuration(window)));
  }
  if (max_people < 1 || max_people > 1000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("context people must be 1..1000000, got ", max_people));
  }
  return absl::OkStatus();
}

namespace {

// What the rules need to know about the earlier messages considered.
struct Tally {
  const PriorScore* peak = nullptr;
  int distressed_last_hour = 0;              // LOW or above
  absl::Time first_distressed;               // the earliest of those
  int medium_last_6h = 0;                    // MEDIUM or above
  const PriorScore* high_last_6h = nullptr;  // the latest HIGH or above
  int trend_span = 0;  // messages the trend covers, this one included
  bool trend_all_distressed = false;  // its earlier ones all LOW or above
};

Tally Count(const std::vector<PriorScore>& prior, absl::Time sent,
            const std::function<Level(float)>& level_for) {
  Tally t;
  t.peak = &prior.front();
  t.first_distressed = sent;
  for (const PriorScore& p : prior) {
    if (p.score >= t.peak->score) t.peak = &p;
    const Level level = level_for(p.score);
    const absl::Duration before = sent - p.sent;
    if (before <= kRecentDistress && level >= Level::kLow) {
      ++t.distressed_last_hour;
      t.first_distressed = std::min(t.first_distressed, p.sent);
    }
    if (before <= kEscalationSpan) {
      if (level >= Level::kMedium) ++t.medium_last_6h;
      if (level >= Level::kHigh) t.high_last_6h = &p;
    }
  }
  return t;
}

// Sets the trend over the last kTrendMessages scores, this message's
// included, and what `t` says of them.
void SetTrend(const std::vector<PriorScore>& prior, float score,
              const std::function<Level(float)>& level_for, Tally* t,
              ConversationContext* c) {
  std::vector<float> recent;
  const size_t from =
      prior.size() - std::min<size_t>(prior.size(), kTrendMessages - 1);
  t->trend_all_distressed = true;
  for (size_t i = from; i < prior.size(); ++i) {
    recent.push_back(prior[i].score);
    if (level_for(prior[i].score) < Level::kLow) {
      t->trend_all_distressed = false;
    }
  }
  recent.push_back(score);
  t->trend_span = static_cast<int>(recent.size());
  c->trend_slope = Slope(recent);
  c->trend = c->trend_slope >= kTrendThreshold    ? Trend::kRising
             : c->trend_slope <= -kTrendThreshold ? Trend::kFalling
                                                  : Trend::kSteady;
}

// The context in words.
std::vector<std::string> Describe(const Tally& t, const ConversationContext& c,
                                  absl::Time sent, Level peak_level) {
  std::vector<std::string> factors;
  if (c.message_level >= Level::kLow && t.distressed_last_hour >= 1) {
    factors.push_back(absl::StrCat(Ordinal(t.distressed_last_hour + 1),
                                   " distressed message in ",
                                   Ago(sent - t.first_distressed)));
  }
  if (t.trend_span >= 3 && c.trend != Trend::kSteady) {
    factors.push_back(
        absl::StrCat(c.trend == Trend::kRising ? "rising" : "falling",
                     " over the last ", t.trend_span, " messages"));
  }
  if (t.high_last_6h != nullptr) {
    factors.push_back(absl::StrCat("follows a high-risk message ",
                                   Ago(sent - t.high_last_6h->sent), " ago"));
  }
  if (factors.empty()) {
    factors.push_back(absl::StrCat(
        c.prior_messages,
        c.prior_messages == 1 ? " earlier message" : " earlier messages",
        ", highest level ", LevelName(peak_level), " ", Ago(c.since_peak),
        " ago"));
  }
  return factors;
}

// The raising rules, as documented in the header.
void Raise(const Tally& t, ConversationContext* c) {
  const Level own = c->message_level;
  if (own != Level::kLow && own != Level::kMedium) return;
  if (t.medium_last_6h >= 2) {
    c->level = Level::kHigh;
    c->raise_reason = absl::StrCat(
        t.medium_last_6h,
        " earlier messages at medium or above in the last 6 hours");
  } else if (own == Level::kMedium && t.high_last_6h != nullptr) {
    c->level = Level::kHigh;
    c->raise_reason = "still distressed after a high-risk message";
  } else if (c->trend == Trend::kRising &&
             (t.trend_span - 1 >= 3 ||
              (t.trend_span - 1 == 2 && t.trend_all_distressed))) {
    c->level = Level::kHigh;
    c->raise_reason =
        absl::StrCat("rising distress over ", t.trend_span, " messages");
  } else if (own == Level::kLow && t.high_last_6h != nullptr) {
    c->level = Level::kMedium;
    c->raise_reason = "distressed again after a high-risk message";
  } else if (own == Level::kLow && t.distressed_last_hour >= 2) {
    c->level = Level::kMedium;
    c->raise_reason = absl::StrCat(Ordinal(t.distressed_last_hour + 1),
                                   " distressed message within an hour");
  }
}

}  // namespace

std::vector<PriorScore> ContextRules::Considered(
    absl::Span<const PriorScore> history, absl::Time sent) const {
  std::vector<PriorScore> prior;
  for (const PriorScore& p : history) {
    if (p.sent <= sent && sent - p.sent <= options_.window) prior.push_back(p);
  }
  std::stable_sort(
      prior.begin(), prior.end(),
      [](const PriorScore& a, const PriorScore& b) { return a.sent < b.sent; });
  if (prior.size() > static_cast<size_t>(options_.max_messages)) {
    prior.erase(prior.begin(), prior.end() - options_.max_messages);
  }
  return prior;
}

ConversationContext ContextRules::Evaluate(absl::Span<const PriorScore> history,
                                           absl::Time sent, float score) const {
  const std::vector<PriorScore> prior = Considered(history, sent);
  ConversationContext c;
  c.prior_messages = static_cast<int>(prior.size());
  c.message_level = level_for_(score);
  c.level = c.message_level;
  if (prior.empty()) return c;
  Tally tally = Count(prior, sent, level_for_);
  SetTrend(prior, score, level_for_, &tally, &c);
  c.peak_score = tally.peak->score;
  c.since_peak = sent - tally.peak->sent;
  c.factors = Describe(tally, c, sent, level_for_(tally.peak->score));
  Raise(tally, &c);
  return c;
}

void ApplyContext(const ConversationContext& context, Verdict* verdict) {
  if (context.level <= verdict->level) return;
  verdict->level = context.level;
  verdict->requires_review = true;
  verdict->recommended_action = std::string(RecommendedAction(context.level));
  verdict->factors.push_back(
      Factor{absl::StrCat("raised to ", LevelName(context.level),
                          " by conversation context: ", context.raise_reason),
             "context",
             {}});
}

bool ContextBudget::TryAddPerson() {
  int64_t now = people_.load();
  while (now < capacity_) {
    if (people_.compare_exchange_weak(now, now + 1)) return true;
  }
  return false;
}

ContextBudget::Stats ContextBudget::stats() const {
  Stats s;
  s.people = static_cast<uint64_t>(std::max<int64_t>(0, people_.load()));
  s.capacity = static_cast<uint64_t>(capacity_);
  s.records = static_cast<uint64_t>(std::max<int64_t>(0, records.load()));
  s.people_evicted = people_evicted.load();
  s.records_evicted = records_evicted.load();
  s.records_expired = records_expired.load();
  return s;
}

ContextStore::ContextStore(ContextOptions options, ContextBudget* budget)
    : options_(options), budget_(budget) {}

ContextStore::~ContextStore() {
  absl::MutexLock lock(&mu_);
  int64_t records = 0;
  for (const auto& [key, person] : people_) records += person.messages.size();
  budget_->records.fetch_sub(records);
  budget_->RemovePeople(static_cast<int64_t>(people_.size()));
}

CacheKey ContextStore::PersonKey(absl::string_view channel_id,
                                 absl::string_view user_id) {
  return MakeKey(channel_id, user_id);
}

int ContextStore::people() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(people_.size());
}

void ContextStore::ExpireLocked(Person& person, absl::Time now) {
  while (!person.messages.empty() &&
         now - person.messages.front().sent > options_.window) {
    person.messages.pop_front();
    budget_->records.fetch_sub(1);
    budget_->records_expired.fetch_add(1);
  }
}

bool ContextStore::EvictOneLocked() {
  if (lru_.empty()) return false;
  auto it = people_.find(lru_.back());
  budget_->records.fetch_sub(static_cast<int64_t>(it->second.messages.size()));
  people_.erase(it);
  lru_.pop_back();
  budget_->RemovePeople(1);
  budget_->people_evicted.fetch_add(1);
  return true;
}

std::vector<PriorScore> ContextStore::History(const CacheKey& person,
                                              absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = people_.find(person);
  if (it == people_.end()) return {};
  ExpireLocked(it->second, now);
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return {it->second.messages.begin(), it->second.messages.end()};
}

void ContextStore::Record(const CacheKey& person, PriorScore message) {
  absl::MutexLock lock(&mu_);
  auto it = people_.find(person);
  if (it == people_.end()) {
    if (static_cast<int>(people_.size()) >= options_.max_people) {
      EvictOneLocked();
    }
    while (!budget_->TryAddPerson()) {
      if (!EvictOneLocked()) {
        budget_->people_evicted.fetch_add(1);  // Not remembered at all.
        return;
      }
    }
    lru_.push_front(person);
    it = people_.emplace(person, Person{{}, lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  std::deque<PriorScore>& messages = it->second.messages;
  // Keep time order: a message sent before ones already recorded (clocks,
  // retries) goes where it belongs.
  auto at = std::upper_bound(
      messages.begin(), messages.end(), message.sent,
      [](absl::Time t, const PriorScore& p) { return t < p.sent; });
  messages.insert(at, message);
  budget_->records.fetch_add(1);
  ExpireLocked(it->second, messages.back().sent);
  if (messages.size() > static_cast<size_t>(options_.max_messages)) {
    messages.pop_front();
    budget_->records.fetch_sub(1);
    budget_->records_evicted.fetch_add(1);
  }
}

}  // namespace lantern::core
