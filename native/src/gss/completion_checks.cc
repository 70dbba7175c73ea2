#include "completion_checks.h"

#include "../replay/replay_cache.h"
#include "../replay/replay_tag.h"

namespace negotiate {

GssStatus CheckReplay(gss_ctx_id_t ctx, const std::string& principal) {
  ReplayTag tag;
  uint64_t principal_hash = 0;
  GssStatus st = ReplayTagOfContext(ctx, principal, &tag, &principal_hash);
  if (!st.ok()) {
    // Fail closed: without the tag the handshake would skip replay detection.
    st.message += " (needed for the in-memory replay check; refused)";
    return st;
  }
  std::string why;
  switch (ReplayCache::Instance().Record(tag, principal_hash, &why)) {
    case ReplayCache::Result::kReplay: {
      GssStatus replay = MakeStatus("ERR_GSS_REPLAY",
                                    "accept: Request is a replay (the in-memory replay cache has "
                                    "seen this authenticator)");
      replay.major = GSS_S_DUPLICATE_TOKEN;
      return replay;
    }
    case ReplayCache::Result::kFull:
      return MakeStatus("ERR_REPLAY_CACHE_FULL",
                        "accept: the in-memory replay cache is full, so replays could not be "
                        "detected; refused (raise --replay-cache-size, or use the file cache)");
    case ReplayCache::Result::kQuota:
      return MakeStatus("ERR_REPLAY_QUOTA",
                        "accept: this client principal holds its share of the in-memory replay "
                        "cache (--replay-cache-principal-quota); refused until its older "
                        "authenticators expire");
    case ReplayCache::Result::kUnjournaled:
      // A tag the journal does not hold would be forgotten by a restart: fail closed.
      return MakeStatus(
          "ERR_REPLAY_CACHE_UNAVAILABLE",
          "accept: the replay journal could not record this authenticator (" + why + "); refused");
    case ReplayCache::Result::kFresh:
      break;
  }
  return GssStatus{};
}

GssStatus CheckRequiredFlags(OM_uint32 required, OM_uint32 granted) {
  OM_uint32 missing = required & ~granted;
  if (missing == 0) return GssStatus{};
  static const struct {
    OM_uint32 bit;
    const char* name;
  } kNames[] = {{GSS_C_MUTUAL_FLAG, "mutual"},        {GSS_C_REPLAY_FLAG, "replay"},
                {GSS_C_SEQUENCE_FLAG, "sequence"},    {GSS_C_INTEG_FLAG, "integrity"},
                {GSS_C_CONF_FLAG, "confidentiality"}, {GSS_C_DELEG_FLAG, "delegation"}};
  std::string names;
  for (const auto& n : kNames) {
    if ((missing & n.bit) == 0) continue;
    if (!names.empty()) names += ", ";
    names += n.name;
  }
  GssStatus st =
      MakeStatus("ERR_GSS_FLAGS_REQUIRED", "accept: the client did not request " + names +
                                               ", which this server requires (--require-flags)");
  st.major = GSS_S_FAILURE;
  return st;
}

}  // namespace negotiate
