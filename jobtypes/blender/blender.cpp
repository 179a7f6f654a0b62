// blender: one `blender -b SCENE --python qube_blender_driver.py` per instance;
// the driver (installed beside this module) renders the frames it is sent on
// standard input and prints each file written. Package keys: scenefile
// (required), engine (CYCLES, BLENDER_EEVEE, BLENDER_WORKBENCH), outputpath
// (Blender's, e.g. /out/shot_####), format (PNG, OPEN_EXR, ...), blenderexe,
// timeout.
#include <qube/app_instance.hpp>

namespace {

using namespace qube;

const int module_anchor = 0;  // an address inside this module, to find its files

AppDialect driver_dialect() {
  AppDialect d;
  d.sentinel = [](const std::string& head, const std::string& tail) { return "echo " + head + " " + tail; };
  d.quit = "quit";
  d.error_patterns = {"QUBE_ERROR: "};
  d.output_pattern = "QUBE_OUTPUT: (.+)$";
  return d;
}

AppSessionOptions blender_options(const JobInfo& job) {
  const auto module = module_path_of(&module_anchor);
  AppSessionOptions o = plugin::session_options(plugin::load_app_config(job, "blenderexe", module));
  std::filesystem::path scene = plugin::required_package_string(job, "scenefile");
  if (scene.is_relative() && !job.cwd.empty()) scene = job.cwd / scene;
  if (std::error_code ec; !std::filesystem::is_regular_file(scene, ec))
    throw std::invalid_argument("scenefile '" + scene.string() + "' does not exist on worker " + job.host);
  const auto driver = module.parent_path() / "qube_blender_driver.py";
  if (std::error_code ec; !std::filesystem::is_regular_file(driver, ec))
    throw std::invalid_argument("the blender job type's driver " + driver.string() + " is missing");
  o.argv.insert(o.argv.end(), {"-b", scene.string(), "--python", driver.string(), "--"});
  const std::pair<const char*, const char*> options[] = {
      {"engine", "--engine"}, {"outputpath", "--output"}, {"format", "--format"}};
  for (const auto& [key, flag] : options)
    if (auto value = plugin::package_string(job.package, key); !value.empty()) {
      o.argv.push_back(flag);
      o.argv.push_back(value);
    }
  o.dialect = driver_dialect();
  return o;
}

class BlenderInstance final : public plugin::AppInstance {
 public:
  explicit BlenderInstance(const JobInfo& job) : AppInstance(job, blender_options(job)) {}

 private:
  std::vector<std::string> item_commands(const FrameRun& frames) override {
    std::string line = "render";
    for (std::size_t i = 0; i < frames.count(); ++i) line.append(" ").append(std::to_string(frames.at(i)));
    return {line};
  }
};

std::unique_ptr<plugin::JobType> create(const std::string& type) {
  if (type == "blender") return std::make_unique<plugin::SimpleJobType<BlenderInstance>>();
  return nullptr;
}

}  // namespace

QUBE_EXPORT_JOBTYPES(create)
