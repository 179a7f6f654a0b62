// The HTTP API's tokens (supervisor/http/api_tokens.hpp) and the statuses of the
// loop's refusals (http_errors.hpp).
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "http/api_tokens.hpp"
#include "http/http_errors.hpp"

namespace qube::supervisor {
namespace {

namespace fs = std::filesystem;

struct TempFile {
  fs::path path = fs::temp_directory_path() / ("api_tokens_test_" + std::to_string(::getpid()));
  ~TempFile() { fs::remove(path); }
};

TEST(ApiTokens, Sha256OfKnownText) {
  EXPECT_EQ(ApiTokens::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// A callback's token: the user's own stays valid beside it, and it is never written.
TEST(ApiTokens, GrantedTokensLastUntilWithdrawnAndAreNeverStored) {
  TempFile f;
  std::string own, granted;
  {
    ApiTokens tokens(f.path);
    own = tokens.issue("alice");
    granted = tokens.grant("alice");
    EXPECT_NE(own, granted);
    EXPECT_EQ(tokens.user_of(granted), "alice");
    EXPECT_EQ(tokens.user_of(own), "alice");
    EXPECT_THROW(tokens.grant("not a user"), std::runtime_error);
  }
  ApiTokens reread(f.path);
  EXPECT_EQ(reread.user_of(granted), std::nullopt);
  const std::string again = reread.grant("bob");
  reread.withdraw(again);
  EXPECT_EQ(reread.user_of(again), std::nullopt);
  EXPECT_EQ(reread.user_of(own), "alice");
}

TEST(ApiTokens, IssuedTokensIdentifyTheirUserAndSurviveRereading) {
  TempFile f;
  std::string alice, bob;
  {
    ApiTokens tokens(f.path);
    alice = tokens.issue("alice");
    bob = tokens.issue("bob");
    EXPECT_EQ(alice.size(), 64u);
    EXPECT_NE(alice, bob);
    EXPECT_EQ(tokens.user_of(alice), "alice");
    EXPECT_EQ(tokens.user_of(bob), "bob");
    EXPECT_EQ(tokens.user_of(std::string(64, '0')), std::nullopt);
    EXPECT_EQ(tokens.user_of("short"), std::nullopt);
  }
  struct stat st {};
  ASSERT_EQ(::stat(f.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(f.path);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text.find(alice), std::string::npos);  // only hashes on disk
  ApiTokens again(f.path);
  EXPECT_EQ(again.user_of(alice), "alice");
  // A new token replaces the old; a revoked one is gone.
  const std::string alice2 = again.issue("alice");
  EXPECT_EQ(again.user_of(alice), std::nullopt);
  EXPECT_EQ(again.user_of(alice2), "alice");
  EXPECT_TRUE(again.revoke("bob"));
  EXPECT_FALSE(again.revoke("bob"));
  EXPECT_EQ(ApiTokens(f.path).user_of(bob), std::nullopt);
}

TEST(ApiTokens, RefusesBadNamesAndBadFiles) {
  TempFile f;
  ApiTokens tokens(f.path);
  EXPECT_THROW(tokens.issue(""), std::runtime_error);
  EXPECT_THROW(tokens.issue("two words"), std::runtime_error);
  std::ofstream(f.path) << "alice not-a-hash\n";
  EXPECT_THROW(ApiTokens{f.path}, std::runtime_error);
}

TEST(HttpErrors, RefusalsMapToTheStatusOfTheirMeaning) {
  EXPECT_EQ(status_for_error("no job 12"), 404);
  EXPECT_EQ(status_for_error("no host node3"), 404);
  EXPECT_EQ(status_for_error("job 12 has no item '7'"), 404);
  EXPECT_EQ(status_for_error("job 12 belongs to bob: only bob or an admin may kill it"), 403);
  EXPECT_EQ(status_for_error("only an admin may lock hosts; alice is not an admin"), 403);
  EXPECT_EQ(status_for_error("job 12 is already complete"), 409);
  EXPECT_EQ(status_for_error("dependency 'link-complete-job-9': there is no job 9"), 400);
  EXPECT_EQ(status_for_error("unknown status 'sleepy'"), 400);
}

}  // namespace
}  // namespace qube::supervisor
