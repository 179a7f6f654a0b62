// hello: an example job type for a kept-alive application (docs/plugin-guide.md).
// The "application" is a POSIX shell, started once per instance and given the
// package's greeting and output directory at start-up. Each frame is one shell
// command writing <outdir>/hello.<frame>.txt ("<greeting> <frame> <shell pid>")
// and naming the file, which the sdk puts in the item's resultpackage.
// Package keys: outdir (required), greeting, helloexe, timeout.
#include <qube/app_instance.hpp>

namespace {

using namespace qube;

const int module_anchor = 0;  // an address inside this module: its files are found from it

// A shell word: single quotes, with embedded ones closed and escaped.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

AppSessionOptions hello_options(const JobInfo& job) {
  // Executable, default arguments and timeouts from hello.yaml and the package.
  AppSessionOptions o =
      plugin::session_options(plugin::load_app_config(job, "helloexe", module_path_of(&module_anchor)));
  // How to speak to the application: the sentinel prints its two halves joined
  // (the command itself never holds the joined token), quit, errors, outputs.
  o.dialect.sentinel = [](const std::string& head, const std::string& tail) {
    return "echo " + quoted(head) + quoted(tail);
  };
  o.dialect.quit = "exit 0";
  o.dialect.error_patterns = {"^hello: "};
  o.dialect.output_pattern = "^HELLO_OUTPUT: (.+)$";
  // Sent after every start of the application, as a scene would be loaded.
  o.setup = {"greeting=" + quoted(plugin::package_string(job.package, "greeting", "hello")),
             "outdir=" + quoted(plugin::required_package_string(job, "outdir")),
             "mkdir -p \"$outdir\" || echo 'hello: cannot create the output directory' >&2"};
  return o;
}

class HelloInstance final : public plugin::AppInstance {
 public:
  explicit HelloInstance(const JobInfo& job) : AppInstance(job, hello_options(job)) {}

 private:
  // One line per frame of the agenda item.
  std::vector<std::string> item_commands(const FrameRun& frames) override {
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < frames.count(); ++i) {
      const std::string frame = std::to_string(frames.at(i));
      lines.push_back("f=\"$outdir/hello." + frame + ".txt\"; echo \"$greeting " + frame +
                      " $$\" > \"$f\" && echo \"HELLO_OUTPUT: $f\" || echo \"hello: cannot write $f\" >&2");
    }
    return lines;
  }
};

std::unique_ptr<plugin::JobType> create(const std::string& type) {
  if (type == "hello") return std::make_unique<plugin::SimpleJobType<HelloInstance>>();
  return nullptr;
}

}  // namespace

// Exports the factory and the sdk ABI version this module was built for.
QUBE_EXPORT_JOBTYPES(create)
