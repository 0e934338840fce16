// The bookkeeping behind ReliableStream (client/reliable_stream.h): which
// messages were accepted and are not answered yet, under which sequence
// each was written on the current stream, and which to write next.
//
// A message gets an index when it is added (0, 1, 2... in order of Add())
// and keeps it for good. On each stream the server numbers the messages it
// reads 0, 1, 2... (StreamAnalyzeResponse.sequence) in write order; the
// queue hands out writes in index order and maps each sequence back to its
// index. StartStream() begins a new stream: sequences restart at 0 and every
// unanswered message is written again, oldest first.
//
// Memory: one copy of each unanswered message plus a few words; the owner
// bounds how many are unanswered.
//
// Thread-safety: none; the owner serialises every call. No gRPC, no I/O.
#ifndef LANTERN_CLIENT_RESEND_QUEUE_H_
#define LANTERN_CLIENT_RESEND_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lantern/v1/chat.pb.h"

namespace lantern::client {

class ResendQueue {
 public:
  // One message to write on the current stream.
  struct Write {
    uint64_t index = 0;
    uint64_t sequence = 0;  // what the server will number it on this stream
    bool resend = false;    // it was written on an earlier stream
    lantern::v1::ChatMessage message;
  };

  // Accepts `message`; returns its index.
  uint64_t Add(lantern::v1::ChatMessage message);

  // A new stream: sequences restart at 0; every unanswered message, including
  // those already written on the previous stream, is to be written again.
  void StartStream();

  // True when a message waits to be written on the current stream.
  bool HasUnwritten() const;
  // The unanswered message with the lowest index not yet written on this
  // stream, now marked written under the next sequence; nullopt if none.
  std::optional<Write> NextWrite();

  // The answer numbered `sequence` on this stream arrived: forgets that
  // message and returns its index. nullopt when no unanswered message was
  // written under `sequence` on this stream (the queue is unchanged).
  std::optional<uint64_t> Answer(uint64_t sequence);
  // The answer numbered `sequence` said the message was not analysed: keeps
  // it for the next stream (it is not written again on this one). Returns
  // its index; nullopt as for Answer().
  std::optional<uint64_t> Requeue(uint64_t sequence);

  // Removes every unanswered message; returns (index, message id) pairs,
  // lowest index first.
  std::vector<std::pair<uint64_t, std::string>> TakeAll();

  // Unanswered messages.
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // The index the next Add() returns.
  uint64_t next_index() const { return next_index_; }

 private:
  struct Entry {
    lantern::v1::ChatMessage message;
    bool written = false;  // on any stream so far
  };

  std::map<uint64_t, Entry> entries_;  // by index
  // Current stream: sequence -> index of the unanswered messages written.
  std::map<uint64_t, uint64_t> by_sequence_;
  uint64_t next_index_ = 0;
  uint64_t next_sequence_ = 0;
  // Entries below this index were written on (or requeued from) this stream.
  uint64_t write_cursor_ = 0;
};

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_RESEND_QUEUE_H_
