package sendingmetrics.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.ArrayList;
import javax.enterprise.inject.Produces;
import javax.inject.Singleton;

/**
 * The bean Apicurio's config-index build extension would generate (the list of properties an
 * admin may change at run time). That extension's build half is not on Maven Central, so the
 * registry is built without it, and no property is dynamic: the tests need none.
 */
@Singleton
public class DynamicConfigBeans {
    @Produces
    @Singleton
    DynamicConfigPropertyList dynamicConfigPropertyList() {
        return new DynamicConfigPropertyList(new ArrayList<>());
    }
}
