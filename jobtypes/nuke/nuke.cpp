// nuke: one `nuke -t` Python prompt per instance. The script is opened once;
// each item is one call of a helper defined at start-up that runs
// nuke.execute(write, first, last, step) for each Write node and prints the files
// written. Package keys: scriptfile (required), writenodes (names, a list or
// "A,B"; default: every enabled Write node), threads, nukeexe, timeout.
#include <qube/app_instance.hpp>

namespace {

using namespace qube;

const int module_anchor = 0;  // an address inside this module, to find its files

// A Python string (or list) literal: JSON's syntax is Python's here.
std::string py(const Json& value) { return value.dump(); }

// Defined once per start; one line, since the prompt reads line by line.
const char* const kRenderHelper = R"(def _qube_render(first, last, step, writes):
    writes = writes or [n.name() for n in nuke.allNodes('Write') if not n['disable'].value()]
    if not writes:
        raise RuntimeError('the script has no enabled Write node')
    for w in writes:
        nuke.execute(w, first, last, step)
    for w in writes:
        for f in range(first, last + (1 if step > 0 else -1), step):
            print('QUBE_' + 'OUTPUT: ' + nuke.toNode(w)['file'].evaluate(f))
)";

AppDialect python_dialect() {
  AppDialect d;
  d.sentinel = [](const std::string& head, const std::string& tail) {
    return "print(" + py(head) + " + " + py(tail) + ", flush=True)";
  };
  d.quit = "quit()";
  // The last line of a traceback ("RuntimeError: Write1: ...") says what failed.
  d.error_patterns = {"^(>>> )*[A-Za-z_.]*(Error|Exception): ", "^ERROR: "};
  d.output_pattern = "QUBE_OUTPUT: (.+)$";
  return d;
}

AppSessionOptions nuke_options(const JobInfo& job) {
  AppSessionOptions o = plugin::session_options(plugin::load_app_config(job, "nukeexe", module_path_of(&module_anchor)));
  if (auto threads = plugin::package_int(job.package, "threads")) {
    o.argv.push_back("-m");
    o.argv.push_back(std::to_string(*threads));
  }
  o.dialect = python_dialect();
  o.env["PYTHONUNBUFFERED"] = "1";  // output as it comes, not when a buffer fills
  o.setup = {"import nuke", "nuke.scriptOpen(" + py(plugin::required_package_string(job, "scriptfile")) + ")",
             "exec(" + py(kRenderHelper) + ")"};
  return o;
}

class NukeInstance final : public plugin::AppInstance {
 public:
  explicit NukeInstance(const JobInfo& job)
      : AppInstance(job, nuke_options(job)), writes_(py(plugin::package_names(job.package, "writenodes"))) {}

 private:
  std::vector<std::string> item_commands(const FrameRun& f) override {
    return {"_qube_render(" + std::to_string(f.first) + ", " + std::to_string(f.last) + ", " +
            std::to_string(f.step) + ", " + writes_ + ")"};
  }
  std::string writes_;
};

std::unique_ptr<plugin::JobType> create(const std::string& type) {
  if (type == "nuke") return std::make_unique<plugin::SimpleJobType<NukeInstance>>();
  return nullptr;
}

}  // namespace

QUBE_EXPORT_JOBTYPES(create)
