fn main() { std::process::exit(ctys::front::tool_main("vnetctl", std::env::args().skip(1).collect())) }
