#include "client/resend_queue.h"

namespace lantern::client {

uint64_t ResendQueue::Add(lantern::v1::ChatMessage message) {
  const uint64_t index = next_index_++;
  entries_.emplace(index, Entry{std::move(message), false});
  return index;
}

void ResendQueue::StartStream() {
  by_sequence_.clear();
  next_sequence_ = 0;
  write_cursor_ = 0;
}

bool ResendQueue::HasUnwritten() const {
  return entries_.lower_bound(write_cursor_) != entries_.end();
}

std::optional<ResendQueue::Write> ResendQueue::NextWrite() {
  const auto it = entries_.lower_bound(write_cursor_);
  if (it == entries_.end()) return std::nullopt;
  Entry& entry = it->second;
  Write write;
  write.index = it->first;
  write.sequence = next_sequence_++;
  write.resend = entry.written;
  write.message = entry.message;
  entry.written = true;
  by_sequence_.emplace(write.sequence, write.index);
  write_cursor_ = write.index + 1;
  return write;
}

std::optional<uint64_t> ResendQueue::Answer(uint64_t sequence) {
  const std::optional<uint64_t> index = Requeue(sequence);
  if (index.has_value()) entries_.erase(*index);
  return index;
}

std::optional<uint64_t> ResendQueue::Requeue(uint64_t sequence) {
  const auto it = by_sequence_.find(sequence);
  if (it == by_sequence_.end()) return std::nullopt;
  const uint64_t index = it->second;
  by_sequence_.erase(it);
  // It stays in entries_ below write_cursor_, so only StartStream() makes it
  // writable again.
  return index;
}

std::vector<std::pair<uint64_t, std::string>> ResendQueue::TakeAll() {
  std::vector<std::pair<uint64_t, std::string>> taken;
  taken.reserve(entries_.size());
  for (const auto& [index, entry] : entries_) {
    taken.emplace_back(index, entry.message.id());
  }
  entries_.clear();
  by_sequence_.clear();
  return taken;
}

}  // namespace lantern::client
