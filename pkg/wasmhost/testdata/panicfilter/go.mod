module panicfilter

go 1.26

require github.com/filterdoctor/filterdoctor/filters v0.0.0

replace github.com/filterdoctor/filterdoctor/filters => ../../../../filters
