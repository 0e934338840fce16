// ThreadSanitizer annotations for Debian's abseil synchronization library.
// Linked into test executables of ThreadSanitizer builds only
// (LANTERN_SANITIZE=thread, see scripts/sanitize.sh).
//
// Why: Debian's libabsl_synchronization.so is built without TSan, so TSan
// never sees an absl::Mutex being locked or unlocked (that happens in atomics
// and futex calls inside an uninstrumented library) and reports every access
// a Mutex guards as a data race. The functions below replace the library's
// entry points (a definition in the executable wins over the shared
// library's): each calls the real function, found with dlsym(RTLD_NEXT), and
// tells TSan what happened through its mutex annotations, as abseil itself
// does when it is built with TSan.
//
// Waits that release the mutex inside (Await, CondVar::Wait, LockWhen) run
// entirely inside an annotation window, where TSan ignores memory accesses:
// abseil evaluates conditions there, sometimes on the unlocking thread.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

// Debian builds abseil 20220623 with inline namespace "debian3".
#define LANTERN_ABSL_NS "_ZN4absl7debian3"
#define LANTERN_ABSL_CONST_NS "_ZNK4absl7debian3"

template <typename Fn>
Fn Real(const char* mangled) {
  void* fn = dlsym(RTLD_NEXT, mangled);
  if (fn == nullptr) {
    std::fprintf(stderr,
                 "tsan_absl_annotations: %s not found; abseil's ABI changed?\n",
                 mangled);
    std::abort();
  }
  return reinterpret_cast<Fn>(fn);
}

#define LANTERN_REAL(type, mangled) static const auto real = Real<type>(mangled)

constexpr unsigned kRead = __tsan_mutex_read_lock;
constexpr unsigned kTry = __tsan_mutex_try_lock;
constexpr unsigned kTryFailed = __tsan_mutex_try_lock_failed;

// The whole wait as TSan sees it: unlocked before, locked after, accesses
// in between (condition evaluation) ignored.
template <typename Wait>
auto ReleaseWhile(absl::Mutex* mu, unsigned flags, Wait wait) {
  __tsan_mutex_pre_unlock(mu, flags);
  auto result = wait();
  __tsan_mutex_post_unlock(mu, flags);
  __tsan_mutex_pre_lock(mu, flags);
  __tsan_mutex_post_lock(mu, flags, 0);
  return result;
}

// Notification's flag is read by the inline HasBeenNotified() (an acquire
// load TSan sees) and written inside the library (a store it does not):
// Notify() releases on the flag's address so that load acquires from it.
void* NotifiedFlag(const absl::Notification* n) {
  static_assert(sizeof(absl::Notification) == 2 * sizeof(absl::Mutex),
                "absl::Notification is no longer {Mutex, atomic<bool>}");
  return const_cast<char*>(reinterpret_cast<const char*>(n) +
                           sizeof(absl::Mutex));
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  LANTERN_REAL(void (*)(Mutex*), LANTERN_ABSL_NS "5Mutex4LockEv");
  __tsan_mutex_pre_lock(this, 0);
  real(this);
  __tsan_mutex_post_lock(this, 0, 0);
}

bool Mutex::TryLock() {
  LANTERN_REAL(bool (*)(Mutex*), LANTERN_ABSL_NS "5Mutex7TryLockEv");
  __tsan_mutex_pre_lock(this, kTry);
  const bool locked = real(this);
  __tsan_mutex_post_lock(this, locked ? kTry : kTry | kTryFailed, 0);
  return locked;
}

void Mutex::Unlock() {
  LANTERN_REAL(void (*)(Mutex*), LANTERN_ABSL_NS "5Mutex6UnlockEv");
  __tsan_mutex_pre_unlock(this, 0);
  real(this);
  __tsan_mutex_post_unlock(this, 0);
}

void Mutex::ReaderLock() {
  LANTERN_REAL(void (*)(Mutex*), LANTERN_ABSL_NS "5Mutex10ReaderLockEv");
  __tsan_mutex_pre_lock(this, kRead);
  real(this);
  __tsan_mutex_post_lock(this, kRead, 0);
}

bool Mutex::ReaderTryLock() {
  LANTERN_REAL(bool (*)(Mutex*), LANTERN_ABSL_NS "5Mutex13ReaderTryLockEv");
  __tsan_mutex_pre_lock(this, kRead | kTry);
  const bool locked = real(this);
  __tsan_mutex_post_lock(this,
                         locked ? kRead | kTry : kRead | kTry | kTryFailed, 0);
  return locked;
}

void Mutex::ReaderUnlock() {
  LANTERN_REAL(void (*)(Mutex*), LANTERN_ABSL_NS "5Mutex12ReaderUnlockEv");
  __tsan_mutex_pre_unlock(this, kRead);
  real(this);
  __tsan_mutex_post_unlock(this, kRead);
}

void Mutex::LockWhen(const Condition& cond) {
  LANTERN_REAL(void (*)(Mutex*, const Condition&),
               LANTERN_ABSL_NS "5Mutex8LockWhenERKNS0_9ConditionE");
  __tsan_mutex_pre_lock(this, 0);
  real(this, cond);
  __tsan_mutex_post_lock(this, 0, 0);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  LANTERN_REAL(bool (*)(Mutex*, const Condition&, Duration), LANTERN_ABSL_NS
               "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  __tsan_mutex_pre_lock(this, 0);
  const bool met = real(this, cond, timeout);
  __tsan_mutex_post_lock(this, 0, 0);
  return met;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  LANTERN_REAL(bool (*)(Mutex*, const Condition&, Time), LANTERN_ABSL_NS
               "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  __tsan_mutex_pre_lock(this, 0);
  const bool met = real(this, cond, deadline);
  __tsan_mutex_post_lock(this, 0, 0);
  return met;
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  LANTERN_REAL(void (*)(Mutex*, const Condition&),
               LANTERN_ABSL_NS "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  __tsan_mutex_pre_lock(this, kRead);
  real(this, cond);
  __tsan_mutex_post_lock(this, kRead, 0);
}

void Mutex::Await(const Condition& cond) {
  LANTERN_REAL(void (*)(Mutex*, const Condition&),
               LANTERN_ABSL_NS "5Mutex5AwaitERKNS0_9ConditionE");
  ReleaseWhile(this, 0, [&] {
    real(this, cond);
    return true;
  });
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  LANTERN_REAL(bool (*)(Mutex*, const Condition&, Duration), LANTERN_ABSL_NS
               "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return ReleaseWhile(this, 0, [&] { return real(this, cond, timeout); });
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  LANTERN_REAL(bool (*)(Mutex*, const Condition&, Time), LANTERN_ABSL_NS
               "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return ReleaseWhile(this, 0, [&] { return real(this, cond, deadline); });
}

Mutex::~Mutex() {
  LANTERN_REAL(void (*)(Mutex*), LANTERN_ABSL_NS "5MutexD2Ev");
  __tsan_mutex_destroy(this, 0);
  real(this);
}

void CondVar::Wait(Mutex* mu) {
  LANTERN_REAL(void (*)(CondVar*, Mutex*),
               LANTERN_ABSL_NS "7CondVar4WaitEPNS0_5MutexE");
  ReleaseWhile(mu, 0, [&] {
    real(this, mu);
    return true;
  });
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  LANTERN_REAL(bool (*)(CondVar*, Mutex*, Duration), LANTERN_ABSL_NS
               "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  return ReleaseWhile(mu, 0, [&] { return real(this, mu, timeout); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  LANTERN_REAL(bool (*)(CondVar*, Mutex*, Time), LANTERN_ABSL_NS
               "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return ReleaseWhile(mu, 0, [&] { return real(this, mu, deadline); });
}

void Notification::Notify() {
  LANTERN_REAL(void (*)(Notification*),
               LANTERN_ABSL_NS "12Notification6NotifyEv");
  __tsan_release(NotifiedFlag(this));
  real(this);
}

void Notification::WaitForNotification() const {
  LANTERN_REAL(void (*)(const Notification*),
               LANTERN_ABSL_CONST_NS "12Notification19WaitForNotificationEv");
  real(this);
  __tsan_acquire(NotifiedFlag(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  LANTERN_REAL(bool (*)(const Notification*, Duration), LANTERN_ABSL_CONST_NS
               "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(NotifiedFlag(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  LANTERN_REAL(bool (*)(const Notification*, Time), LANTERN_ABSL_CONST_NS
               "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  const bool notified = real(this, deadline);
  if (notified) __tsan_acquire(NotifiedFlag(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
