// maya: one `maya -prompt` per instance. The scene is opened once; each frame is
// a line of MEL (set the time, render, print the image written). Package keys:
// scenefile (required), project, renderer, camera, renderlayer, outputpath,
// imageformat, threads, mayaexe, timeout.
#include <qube/app_instance.hpp>

namespace {

using namespace qube;

const int module_anchor = 0;  // an address inside this module, to find its files

// A MEL string literal.
std::string mel(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') out += "\\n";
    else out += c;
  }
  return out + "\"";
}

// "QUBE_OUTPUT: " in two halves, for the reason the sentinel is: an echo of the
// command must not read as an output line.
const std::string kOutputMarker = "\"QUBE_\" + \"OUTPUT: \"";

AppDialect mel_dialect() {
  AppDialect d;
  d.sentinel = [](const std::string& head, const std::string& tail) {
    return "print (" + mel(head) + " + " + mel(tail + "\n") + ");";
  };
  d.quit = "quit -f;";
  d.error_patterns = {"// Error: ", "^Error: "};
  d.output_pattern = "QUBE_OUTPUT: (.+)$";
  return d;
}

AppSessionOptions maya_options(const JobInfo& job) {
  AppSessionOptions o = plugin::session_options(plugin::load_app_config(job, "mayaexe", module_path_of(&module_anchor)));
  o.dialect = mel_dialect();
  const Json& p = job.package;
  const std::string scene = plugin::required_package_string(job, "scenefile");
  if (auto project = plugin::package_string(p, "project"); !project.empty())
    o.setup.push_back("workspace -o " + mel(project) + ";");
  o.setup.push_back("file -f -o " + mel(scene) + ";");
  const std::pair<const char*, const char*> string_attrs[] = {
      {"renderer", "currentRenderer"}, {"outputpath", "imageFilePrefix"}, {"imageformat", "imfPluginKey"}};
  for (const auto& [key, attr] : string_attrs)
    if (auto value = plugin::package_string(p, key); !value.empty())
      o.setup.push_back(std::string("setAttr -type \"string\" defaultRenderGlobals.") + attr + " " + mel(value) + ";");
  if (auto threads = plugin::package_int(p, "threads"))
    o.setup.push_back("setAttr defaultRenderGlobals.numCpusToUse " + std::to_string(*threads) + ";");
  return o;
}

class MayaInstance final : public plugin::AppInstance {
 public:
  explicit MayaInstance(const JobInfo& job) : AppInstance(job, maya_options(job)) {
    if (auto layer = plugin::package_string(job.package, "renderlayer"); !layer.empty())
      render_ += " -layer " + mel(layer);
    if (auto camera = plugin::package_string(job.package, "camera"); !camera.empty()) render_.append(" ").append(mel(camera));
  }

 private:
  std::vector<std::string> item_commands(const FrameRun& frames) override {
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < frames.count(); ++i)
      lines.push_back("currentTime -e " + std::to_string(frames.at(i)) + "; print (" + kOutputMarker + " + `" +
                      render_ + "` + \"\\n\");");
    return lines;
  }
  std::string render_ = "render";
};

std::unique_ptr<plugin::JobType> create(const std::string& type) {
  if (type == "maya") return std::make_unique<plugin::SimpleJobType<MayaInstance>>();
  return nullptr;
}

}  // namespace

QUBE_EXPORT_JOBTYPES(create)
