#include "vmm/scenario/Scenario.h"

#include <boost/asio/post.hpp>
#include <algorithm>
#include <cmath>

#include "vmm/ExitStatus.h"
#include "vmm/control/ControlRequest.h"

namespace vmm {

namespace {

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

std::string ScenarioStep::describe() const {
  switch (kind) {
    case Kind::Expect: return "expect /" + text + "/";
    case Kind::Send: return "send " + nlohmann::json(text).dump();
    case Kind::Inject: return "inject " + request.dump();
    case Kind::Check: {
      std::string what = "check " + pointer;
      if (equals) what += " == " + equals->dump();
      if (min) what += " >= " + nlohmann::json(*min).dump();
      if (max) what += " <= " + nlohmann::json(*max).dump();
      return what;
    }
    case Kind::Pause: return "pause";
    case Kind::Resume: return "resume";
    case Kind::Nmi: return "nmi";
    case Kind::Stop: return "stop";
    case Kind::Exit: return status ? "exit with status " + std::to_string(*status) : "exit";
  }
  return "?";
}

Scenario::Scenario(boost::asio::io_context& io, std::vector<ScenarioStep> steps, control::ControlTarget& target,
                   ByteSink& console, std::function<void(int, std::string)> fail)
    : io_(io), steps_(std::move(steps)), target_(target), console_out_(console), fail_(std::move(fail)), timer_(io) {
  // Checked when the config was read; compiled when each step starts, since
  // a pattern may hold an earlier match's groups (${n}).
  patterns_.resize(steps_.size());
}

namespace {

// A capture put into a pattern stands for itself: its special characters escaped.
std::string regex_literal(const std::string& text) {
  static const std::string special = R"(\^$.|?*+()[]{}/-)";
  std::string out;
  for (char c : text) {
    if (special.find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::size_t Scenario::write(std::span<const std::uint8_t> bytes) {
  const std::size_t taken = console_out_.write(bytes);
  {
    std::lock_guard lock(mutex_);
    console_.append(reinterpret_cast<const char*>(bytes.data()), taken);
    if (console_.size() > kMaxConsole) {
      const std::size_t cut = console_.size() - kMaxConsole / 2;
      console_.erase(0, cut);
      dropped_ += cut;
    }
  }
  // One look per batch of output, on the event loop.
  if (taken && !check_posted_.exchange(true))
    boost::asio::post(io_, [this] {
      check_posted_ = false;
      run_steps();
    });
  return taken;
}

void Scenario::start() {
  step_started_ = std::chrono::steady_clock::now();
  if (!steps_.empty() && steps_[0].kind == ScenarioStep::Kind::Expect)
    patterns_[0] = std::regex(steps_[0].text, std::regex::ECMAScript);
  run_steps();
}

std::string Scenario::step_name(std::size_t index) const {
  return "step " + std::to_string(index + 1) + " of " + std::to_string(steps_.size()) + " (" + steps_[index].where +
         ": " + steps_[index].describe() + ")";
}

// Runs steps until one has to wait (an expect not seen yet, an exit), arming
// that step's timeout.
void Scenario::run_steps() {
  while (!failed_ && next_ < steps_.size()) {
    const ScenarioStep& step = steps_[next_];
    std::string why;
    switch (step.kind) {
      case ScenarioStep::Kind::Expect:
        if (!try_expect()) return;
        break;
      case ScenarioStep::Kind::Exit: {  // judge_end() decides, unless the run goes on too long
        const std::size_t waiting = next_;
        timer_.expires_at(step_started_ + step.timeout);
        timer_.async_wait([this, waiting](const boost::system::error_code& error) {
          if (!error && !failed_ && next_ == waiting) fail("the run did not end within " + ms(steps_[waiting].timeout));
        });
        return;
      }
      case ScenarioStep::Kind::Send:
        target_.send_serial_input(substitute(step.text, nullptr));
        break;
      case ScenarioStep::Kind::Inject:
        try {
          target_.inject(std::get<control::Inject>(control::parse_request(step.request)));
        } catch (const std::exception& error) {
          return fail(std::string("the injection was refused: ") + error.what());
        }
        break;
      case ScenarioStep::Kind::Check:
        if (!check(step, why)) return fail(why);
        break;
      case ScenarioStep::Kind::Pause: target_.pause(); break;
      case ScenarioStep::Kind::Resume: target_.resume(); break;
      case ScenarioStep::Kind::Nmi:
        try {
          target_.nmi();
        } catch (const std::exception& error) {
          return fail(std::string("the NMI was refused: ") + error.what());
        }
        break;
      case ScenarioStep::Kind::Stop: target_.stop_after_reply(); break;
    }
    advance();
  }
}

void Scenario::advance() {
  ++next_;
  step_started_ = std::chrono::steady_clock::now();
  timer_.cancel();
  if (next_ < steps_.size() && steps_[next_].kind == ScenarioStep::Kind::Expect)
    patterns_[next_] = std::regex(substitute(steps_[next_].text, regex_literal), std::regex::ECMAScript);
}

// The step under way is an expect: true when its pattern matches the output
// since the last match; otherwise its timeout is armed (once).
bool Scenario::try_expect() {
  if (matches_now()) return true;
  const ScenarioStep& step = steps_[next_];
  const std::size_t waiting = next_;
  timer_.expires_at(step_started_ + step.timeout);
  timer_.async_wait([this, waiting](const boost::system::error_code& error) {
    if (error || failed_ || next_ != waiting) return;
    if (!matches_now()) {
      fail("not seen within " + ms(steps_[waiting].timeout));
    } else {
      advance();
      run_steps();
    }
  });
  return false;
}

// Whether the expect under way matches the output since the last match; its
// groups are kept for later steps.
bool Scenario::matches_now() {
  std::smatch match;
  bool found = false;
  {
    std::lock_guard lock(mutex_);
    std::size_t from = cursor_ > dropped_ ? cursor_ - dropped_ : 0;
    if (console_.size() - from > kSearchWindow) from = console_.size() - kSearchWindow;
    const std::string::const_iterator begin = console_.cbegin() + static_cast<std::ptrdiff_t>(from);
    if (std::regex_search(begin, console_.cend(), match, patterns_[next_])) {
      found = true;
      cursor_ = dropped_ + static_cast<std::size_t>(match[0].second - console_.cbegin());
      captures_.clear();
      for (std::size_t i = 0; i < match.size(); ++i) captures_.push_back(match[i].str());
    }
  }
  return found;
}

// A JSON pointer into the stats, where an array of named objects (the lines,
// by their config names) may also be indexed by name: /lines/nic/delivered.
static const nlohmann::json* resolve(const nlohmann::json& root, const std::string& pointer) {
  const nlohmann::json* at = &root;
  std::size_t pos = 0;
  while (pos < pointer.size()) {
    const std::size_t end = std::min(pointer.find('/', pos + 1), pointer.size());
    std::string token;  // RFC 6901: ~1 is '/', ~0 is '~'
    for (std::size_t k = pos + 1; k < end; ++k) {
      if (pointer[k] == '~' && k + 1 < end) {
        token += pointer[++k] == '1' ? '/' : '~';
      } else {
        token += pointer[k];
      }
    }
    pos = end;
    const nlohmann::json* next = nullptr;
    if (at->is_object() && at->contains(token)) {
      next = &(*at)[token];
    } else if (at->is_array()) {
      if (!token.empty() && token.find_first_not_of("0123456789") == std::string::npos) {
        const std::size_t index = std::stoul(token);
        if (index < at->size()) next = &(*at)[index];
      } else {
        for (const auto& element : *at)
          if (element.is_object() && element.contains("name") && element["name"] == token) next = &element;
      }
    }
    if (!next) return nullptr;
    at = next;
  }
  return at;
}

bool Scenario::check(const ScenarioStep& step, std::string& why) const {
  const nlohmann::json stats = target_.stats();
  const nlohmann::json* found = resolve(stats, step.pointer);
  if (!found) {
    why = step.pointer + " is not in the stats";
    return false;
  }
  const nlohmann::json& value = *found;
  if (step.equals && value != *step.equals) {
    why = step.pointer + " is " + value.dump() + ", not " + step.equals->dump();
    return false;
  }
  if (step.min || step.max) {
    if (!value.is_number()) {
      why = step.pointer + " is " + value.dump() + ", not a number";
      return false;
    }
    const double number = value.get<double>();
    if ((step.min && number < *step.min) || (step.max && number > *step.max)) {
      why = step.pointer + " is " + value.dump() + ", outside the bounds";
      return false;
    }
  }
  return true;
}

std::string Scenario::substitute(const std::string& text, std::string (*quote)(const std::string&)) const {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 2 < text.size() && text[i + 1] == '{') {
      const std::size_t close = text.find('}', i + 2);
      const std::string index = close == std::string::npos ? "" : text.substr(i + 2, close - i - 2);
      if (!index.empty() && index.find_first_not_of("0123456789") == std::string::npos) {
        const std::size_t n = std::stoul(index);
        const std::string capture = n < captures_.size() ? captures_[n] : "";
        out += quote ? quote(capture) : capture;
        i = close;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string Scenario::tail() const {
  std::lock_guard lock(mutex_);
  std::size_t start = console_.size(), lines = 0;
  if (start && console_.back() == '\n') --start;
  while (start > 0 && lines < kTailLines) {
    if (console_[start - 1] == '\n') ++lines;
    if (lines < kTailLines) --start;
  }
  std::string text = console_.substr(start);
  if (text.empty()) return "  (no console output)\n";
  std::string indented;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = text.find('\n', pos);
    indented += "  | " + text.substr(pos, end == std::string::npos ? std::string::npos : end - pos) + "\n";
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return indented;
}

void Scenario::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  timer_.cancel();
  const auto waited =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - step_started_);
  fail_(exit_status::kScenarioFailed, "scenario: " + step_name(next_) + " failed after " + ms(waited) + ": " + why +
                                          "\nthe console's last lines:\n" + tail());
}

void Scenario::judge_end(int& status, std::string& report) {
  if (failed_) return;  // its own report is the run's already
  timer_.cancel();
  // The guest may write its last lines and end the run in one go, before the
  // event loop looked at them: whatever it wrote counts for the expects.
  while (next_ < steps_.size() && steps_[next_].kind == ScenarioStep::Kind::Expect && matches_now()) advance();
  if (next_ == steps_.size()) return;
  const ScenarioStep& step = steps_[next_];
  if (step.kind == ScenarioStep::Kind::Exit && next_ + 1 == steps_.size()) {
    if (step.status && *step.status != status) {
      failed_ = true;
      report = "scenario: " + step_name(next_) + " failed: the run ended with status " + std::to_string(status) +
               (report.empty() ? "" : " (" + report + ")") + "\nthe console's last lines:\n" + tail();
      status = exit_status::kScenarioFailed;
      return;
    }
    ++next_;
    return;
  }
  failed_ = true;
  const auto waited =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - step_started_);
  report = "scenario: " + step_name(next_) + " failed after " + ms(waited) + ": the run ended first, with status " +
           std::to_string(status) + (report.empty() ? "" : " (" + report + ")") + "\nthe console's last lines:\n" +
           tail();
  status = exit_status::kScenarioFailed;
}

}  // namespace vmm
