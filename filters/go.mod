module github.com/filterdoctor/filterdoctor/filters

go 1.26
